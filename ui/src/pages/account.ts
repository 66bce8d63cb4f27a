import { api, ApiError, errorText, SignedOut } from '../api.ts';
import { copyText } from '../clipboard.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { ago, type TokenRow } from '../admin/format.ts';
import { confirmAction, errorLine, field, onSubmit, passwordsAgree, statusLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';

/*
 * The signed-in user's own page: who they are, a new password, and their API tokens (a
 * created token's clear value is in control's creation answer only, so it is shown once).
 */

function section(id: string, title: string, ...children: Node[]): HTMLElement {
  return h('section', { class: 'panel', 'aria-labelledby': `${id}-heading` }, h('h2', { id: `${id}-heading`, tabindex: -1 }, title), ...children);
}

function whoAmI(ctx: PageContext): HTMLElement {
  return section('me', 'You',
    h('dl', { class: 'facts' },
      h('dt', {}, 'User name'), h('dd', { id: 'me-name' }, ctx.me.name),
      h('dt', {}, 'Role'), h('dd', { id: 'me-role' }, ctx.me.admin ? 'admin: can add users and agents' : 'user'),
      h('dt', {}, 'User id'), h('dd', {}, h('code', {}, ctx.me.id))));
}

function passwordForm(ctx: PageContext): HTMLElement {
  const current = h('input', { id: 'current-password', name: 'current', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const password = h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 });
  const confirm = h('input', { id: 'confirm-password', name: 'confirm', type: 'password', autocomplete: 'new-password', required: true });
  const error = errorLine('password-error');
  const status = statusLine('password-status');
  // The user name helps password managers file the new password under the right account.
  const form = h('form', { id: 'password-form', class: 'form', 'aria-labelledby': 'password-heading', novalidate: true },
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: ctx.me.name, hidden: true, readonly: true }),
    field('Current password', current, 'Asked so that no one else using this browser can change it.'),
    field('New password', password, 'At least 8 characters. Your other sign-ins end.'),
    field('Repeat password', confirm),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Change password')),
    error, status);
  onSubmit(form, error, async () => {
    status.textContent = '';
    if (!current.value) {
      error.textContent = 'Type your current password.';
      current.focus();
      return;
    }
    if (!passwordsAgree(password, confirm, error)) return;
    try {
      await api(`/api/v1/users/${encodeURIComponent(ctx.me.name)}/password`, { method: 'POST', body: { password: password.value, currentPassword: current.value } });
    } catch (err) {
      // Control names what to fix: the current password (wrong: 403) or the new one.
      const wrongCurrent = err instanceof ApiError && (err.code === 'CTL_WRONG_PASSWORD' || err.field === 'currentPassword');
      if (wrongCurrent || (err instanceof ApiError && err.field === 'password')) (wrongCurrent ? current : password).focus();
      throw err;
    }
    form.reset();
    status.textContent = 'Password changed. You stay signed in here; your other sign-ins have ended, and open apps sign in again.';
  });
  return section('password', 'Change password', form);
}

function tokens(ctx: PageContext): { el: HTMLElement; load: () => Promise<void> } {
  const body = h('tbody');
  const table = h('table', { id: 'tokens', class: 'compact' },
    h('caption', { id: 'tokens-caption' }, 'Your API tokens'),
    h('thead', {}, h('tr', {}, ...['Name', 'Created', 'Last used', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const listError = errorLine('tokens-error');
  const listStatus = statusLine('tokens-status');

  const name = h('input', { id: 'token-name', name: 'name', type: 'text', autocomplete: 'off', required: true, maxlength: 100 });
  const createError = errorLine('token-create-error');
  const created = h('div', { id: 'new-token', class: 'new-token' });
  const form = h('form', { id: 'token-form', class: 'form form-inline', 'aria-label': 'Create an API token', novalidate: true },
    field('Token name', name, 'What it is for, e.g. "laptop" or "CI".'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create token')),
    createError);

  const render = (rows: TokenRow[]) => {
    const now = Date.now();
    body.replaceChildren(...(rows.length ? rows.map((t) => {
      const revoke = t.revoked ? null : h('button', { type: 'button', 'aria-label': `Revoke token: ${t.name}`, 'data-focus': `revoke-${t.id}` }, 'Revoke');
      revoke?.addEventListener('click', async () => {
        const yes = await confirmAction(ctx.view, {
          title: 'Revoke this token?',
          message: `Programs using the token "${t.name}" will be refused from now on. This cannot be undone.`,
          confirm: 'Revoke token',
        });
        if (!yes) return;
        listError.textContent = '';
        try {
          await api(`/api/v1/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
          listStatus.textContent = `Token "${t.name}" revoked.`;
          await load();
          document.getElementById('tokens-heading')?.focus();
        } catch (err) {
          if (err instanceof SignedOut) return;
          listError.textContent = `Cannot revoke "${t.name}": ${errorText(err)}`;
        }
      });
      return h('tr', { 'data-id': t.id, class: t.revoked ? 'revoked' : undefined },
        h('th', { scope: 'row' }, t.name),
        h('td', { class: 'num' }, h('time', { datetime: t.created, title: t.created }, ago(t.created, now))),
        h('td', { class: 'num' }, t.lastUsed ? h('time', { datetime: t.lastUsed, title: t.lastUsed }, ago(t.lastUsed, now)) : h('span', { class: 'none' }, 'never')),
        h('td', {}, t.revoked
          ? h('span', { class: 'state state-revoked' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '✕'), ' revoked ', h('time', { datetime: t.revoked, title: t.revoked }, ago(t.revoked, now)))
          : h('span', { class: 'state state-active' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '●'), ' active')),
        h('td', {}, revoke ?? h('span', { class: 'none' }, '—')));
    }) : [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No tokens yet. Create one below for the CLI or scripts.'))]));
  };

  const load = async () => {
    table.setAttribute('aria-busy', 'true');
    try {
      const { tokens: rows } = await api<{ tokens: TokenRow[] }>('/api/v1/tokens');
      render(rows);
    } catch (err) {
      if (err instanceof SignedOut) return;
      listError.textContent = `Cannot load your tokens: ${errorText(err)}`;
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  };

  onSubmit(form, createError, async () => {
    const value = name.value.trim();
    if (!value) {
      createError.textContent = 'Give the token a name.';
      name.focus();
      return;
    }
    const answer = await api<TokenRow & { token: string }>('/api/v1/tokens', { method: 'POST', body: { name: value } });
    form.reset();
    created.replaceChildren(...shownOnce(answer.name, answer.token));
    created.querySelector<HTMLInputElement>('input')?.focus();
    await load();
  });

  const el = section('tokens', 'API tokens',
    h('p', { class: 'lead' }, 'Tokens let the ', h('code', {}, 'wharf'), ' CLI and scripts act as you: send ', h('code', {}, 'Authorization: Bearer <token>'), ' or set ', h('code', {}, 'WHARF_TOKEN'), '.'),
    form, created, listError, listStatus, tableRegion(table, 'tokens-caption'));
  return { el, load };
}

/** The clear token, read-only and selectable, with a Copy button: control never shows it again. */
function shownOnce(name: string, token: string): Node[] {
  const input = h('input', { id: 'new-token-value', type: 'text', readonly: true, value: token, spellcheck: 'false', autocomplete: 'off', class: 'mono', 'aria-describedby': 'new-token-note' });
  input.addEventListener('focus', () => input.select());
  const copied = statusLine('new-token-status');
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', () => {
    // Selected either way, so that the user sees what was copied.
    input.focus();
    input.select();
    void copyText(token, input, copied);
  });
  return [
    h('div', { class: 'field' },
      h('label', { for: input.id }, `New token "${name}"`),
      h('div', { class: 'copy-row' }, input, copy)),
    h('p', { class: 'warning', id: 'new-token-note' }, h('strong', {}, 'Copy it now: '), 'it will not be shown again. Whoever has it can act as you; revoke it below if it leaks.'),
    copied,
  ];
}

export function accountPage(ctx: PageContext): void {
  ctx.title('Account');
  const list = tokens(ctx);
  ctx.view.replaceChildren(whoAmI(ctx), passwordForm(ctx), list.el);
  void list.load();
}

import { api, ApiError, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { Me } from '../page.ts';
import { ago } from '../admin/format.ts';
import { confirmAction, errorLine, field, keepFocus, onSubmit, statusLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';
import { canManageShares, closesConnections, DEFAULT_SHARE_ROLE, downgradeMessage, isShareRole, revokeMessage, roleWord, rolesHint, SHARE_ROLES, sharedByWords, shareOutcome, sharesPath, sharesRefused, type ShareRole, type ShareRow } from './shares.ts';

/*
 * The instance page's Sharing panel: its owner or an admin shares the instance with another
 * user as viewer or user, changes the role (POST again) and revokes a share (DELETE). Revoking,
 * or taking a user down to viewer, closes that user's open app connections: both ask first. Shown once the view names the owner, and only when
 * control lists the shares (its 403 or 404 keeps it hidden). Loaded when the page opens and
 * after each change; nothing polls.
 */

export interface SharePanelOptions {
  /** The instance's id. */
  id: string;
  me: Me;
  /** The page's view: confirmations open there. */
  host: HTMLElement;
  /** False once the user left the page. */
  alive: () => boolean;
  /** The instance in words for the confirmation ("notebook (k3f9…)"). */
  label: () => string;
}

function roleSelect(attrs: Record<string, string>, role: ShareRole): HTMLSelectElement {
  return h('select', attrs, ...SHARE_ROLES.map((r) => h('option', { value: r.value, selected: r.value === role }, r.label)));
}

export function sharePanel(o: SharePanelOptions): { element: HTMLElement; show: (owner: string) => void } {
  const body = h('tbody');
  const table = h('table', { id: 'shares-list', class: 'compact' },
    h('caption', { id: 'shares-caption' }, 'Users this instance is shared with'),
    h('thead', {}, h('tr', {}, ...['User', 'Role', 'Shared by', 'Shared', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const heading = h('h2', { id: 'shares-heading', tabindex: -1 }, 'Sharing');
  const listError = errorLine('shares-error');
  const listStatus = statusLine('shares-status');

  const name = h('input', { id: 'share-user', name: 'user', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 64 });
  const role = roleSelect({ id: 'share-role', name: 'role' }, DEFAULT_SHARE_ROLE);
  const formError = errorLine('share-error');
  const formStatus = statusLine('share-status');
  const form = h('form', { id: 'share-form', class: 'form form-inline', 'aria-label': 'Share with a user', novalidate: true },
    field('User name', name, 'Their Wharf user name.'),
    field('Role', role, rolesHint()),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Share')),
    formError, formStatus);

  const element = h('section', { id: 'shares', class: 'panel', 'aria-labelledby': 'shares-heading', hidden: true },
    heading,
    h('p', { class: 'hint' }, 'Users it is shared with find it in their list of instances.'),
    listError, listStatus, tableRegion(table, 'shares-caption'), form);

  /** The list shown: what a share request is told against ("now a viewer (was user)"). */
  let shown: ShareRow[] = [];

  /** After an action that removed the focused control, the panel's heading gets focus. */
  const refocus = () => {
    if (!document.activeElement || document.activeElement === document.body) heading.focus();
  };

  const say = (status: string) => {
    listStatus.textContent = status;
    formStatus.textContent = '';
  };

  /** Before a user goes down to viewer: control closes their open app connections. */
  const confirmDowngrade = (user: string, role: ShareRole): Promise<boolean> => closesConnections(shown, user, role)
    ? confirmAction(o.host, { title: `Make ${user} a viewer?`, message: downgradeMessage(user), confirm: 'Make viewer' })
    : Promise.resolve(true);

  const changeRole = async (s: ShareRow, select: HTMLSelectElement) => {
    const next = select.value;
    if (!isShareRole(next) || next === s.role) return;
    if (!(await confirmDowngrade(s.user, next))) {
      select.value = s.role;
      return;
    }
    if (!o.alive()) return;
    listError.textContent = '';
    // Not disabled meanwhile: a disabled select drops keyboard focus, which the new list gives back to its row.
    try {
      const share = await api<ShareRow>(sharesPath(o.id), { method: 'POST', body: { user: s.user, role: next } });
      if (!o.alive()) return;
      say(shareOutcome(shown, share));
      await load();
    } catch (err) {
      if (err instanceof SignedOut || !o.alive()) return;
      select.value = s.role;
      listError.textContent = `Cannot change the role of ${s.user}: ${errorText(err)}`;
    }
  };

  const revoke = async (s: ShareRow) => {
    const yes = await confirmAction(o.host, { title: `Stop sharing with ${s.user}?`, message: revokeMessage(s.user, o.label()), confirm: 'Revoke share' });
    if (!yes || !o.alive()) return;
    listError.textContent = '';
    try {
      await api(sharesPath(o.id, s.user), { method: 'DELETE' });
      if (!o.alive()) return;
      say(`${s.user} no longer has access.`);
      await load();
      refocus();
    } catch (err) {
      if (err instanceof SignedOut || !o.alive()) return;
      listError.textContent = `Cannot revoke the share of ${s.user}: ${errorText(err)}`;
    }
  };

  const render = (rows: ShareRow[]) => {
    shown = rows;
    const now = Date.now();
    keepFocus(body, () => body.replaceChildren(...(rows.length ? rows.map((s) => {
      const select = roleSelect({ 'aria-label': `Role of ${s.user}`, 'data-focus': `role-${s.user}` }, s.role);
      select.addEventListener('change', () => void changeRole(s, select));
      const button = h('button', { type: 'button', 'aria-label': `Revoke share: ${s.user}`, 'data-focus': `revoke-${s.user}` }, 'Revoke');
      button.addEventListener('click', () => void revoke(s));
      return h('tr', { 'data-user': s.user, 'data-role': s.role },
        h('th', { scope: 'row' }, s.user),
        // A role this page does not know is shown as it came, and kept unless another is picked.
        h('td', {}, isShareRole(s.role) ? select : h('span', {}, roleWord(s.role))),
        h('td', {}, s.by === null ? h('span', { class: 'none' }, sharedByWords(s.by)) : s.by),
        h('td', { class: 'num' }, h('time', { datetime: s.created, title: s.created }, ago(s.created, now))),
        h('td', {}, h('div', { class: 'row-actions' }, button)));
    }) : [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Not shared with anyone: only its owner and admins see it.'))])));
  };

  /** Lists the shares; the first time, a refusal keeps the panel hidden. */
  const load = async (first = false) => {
    table.setAttribute('aria-busy', 'true');
    try {
      const { shares } = await api<{ shares: ShareRow[] }>(sharesPath(o.id));
      if (!o.alive()) return;
      element.hidden = false;
      render(shares);
    } catch (err) {
      if (err instanceof SignedOut || !o.alive()) return;
      if (first && sharesRefused(err)) return;
      element.hidden = false;
      listError.textContent = `Cannot load the shares: ${errorText(err)}`;
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  };

  onSubmit(form, formError, async () => {
    formStatus.textContent = '';
    const user = name.value.trim();
    if (!user) {
      formError.textContent = 'Type the user name to share with.';
      name.focus();
      return;
    }
    const picked = isShareRole(role.value) ? role.value : DEFAULT_SHARE_ROLE;
    if (!(await confirmDowngrade(user, picked)) || !o.alive()) return;
    let share: ShareRow;
    try {
      share = await api<ShareRow>(sharesPath(o.id), { method: 'POST', body: { user, role: picked } });
    } catch (err) {
      // Control names what to fix: an unknown user (404), or the user field (the owner, oneself).
      if (err instanceof ApiError && (err.status === 404 || err.field === 'user')) name.focus();
      throw err;
    }
    if (!o.alive()) return;
    name.value = '';
    listError.textContent = '';
    listStatus.textContent = '';
    formStatus.textContent = shareOutcome(shown, share);
    await load();
  });

  let started = false;
  return {
    element,
    /** Called with each view; the first decides whether the panel is for this user, and loads it. */
    show: (owner: string) => {
      if (started) return;
      started = true;
      if (canManageShares(o.me, owner)) void load(true);
    },
  };
}

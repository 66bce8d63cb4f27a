import { api, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { ago, type UserRow } from '../admin/format.ts';
import { confirmAction, errorLine, field, onSubmit, passwordsAgree, openDialog, statusLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';

/*
 * Admins only: the users of control, adding one, setting another user's password (one's own is
 * changed on the account page, with the current one), making or unmaking admins
 * (PATCH /api/v1/users/:name {admin}; control keeps the last admin one) and removing a user.
 */

export function usersPage(ctx: PageContext): void {
  ctx.title('Users');
  const { view } = ctx;
  const body = h('tbody');
  const table = h('table', { id: 'users', class: 'compact' },
    h('caption', { id: 'users-caption' }, 'Users of this Wharf'),
    h('thead', {}, h('tr', {}, ...['Name', 'Role', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const listError = errorLine('users-error');
  const listStatus = statusLine('users-status');
  const listHeading = h('h2', { id: 'users-heading', tabindex: -1 }, 'All users');

  /** After an action that removed the focused button, the list's heading gets focus. */
  const refocus = () => {
    if (!document.activeElement || document.activeElement === document.body) listHeading.focus();
  };

  const setAdmin = async (u: UserRow, admin: boolean) => {
    const self = u.id === ctx.me.id;
    const yes = await confirmAction(view, admin
      ? { title: `Make ${u.name} an admin?`, message: `${u.name} will be able to add and change users and agents, and see every instance.`, confirm: 'Make admin' }
      : { title: `Remove admin from ${u.name}?`, message: self ? 'You will no longer be an admin: this page and the agents and audit pages close to you.' : `${u.name} will keep their instances but lose admin rights.`, confirm: 'Remove admin' });
    if (!yes) return;
    listError.textContent = '';
    try {
      await api(`/api/v1/users/${encodeURIComponent(u.name)}`, { method: 'PATCH', body: { admin } });
      if (self && !admin) {
        // The navigation and this page are an admin's: load the dashboard again as a user.
        location.assign('/account');
        return;
      }
      listStatus.textContent = admin ? `${u.name} is now an admin.` : `${u.name} is no longer an admin.`;
      await load();
      refocus();
    } catch (err) {
      if (err instanceof SignedOut) return;
      listError.textContent = `Cannot change ${u.name}: ${errorText(err)}`;
    }
  };

  const resetPassword = (u: UserRow) => {
    openDialog(view, `New password for ${u.name}`, (close) => {
      const password = h('input', { id: 'reset-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 });
      const confirm = h('input', { id: 'reset-confirm', type: 'password', autocomplete: 'new-password', required: true });
      const error = errorLine('reset-error');
      const cancel = h('button', { type: 'button' }, 'Cancel');
      cancel.addEventListener('click', close);
      const form = h('form', { class: 'form', novalidate: true },
        h('input', { type: 'text', name: 'username', autocomplete: 'username', value: u.name, hidden: true, readonly: true }),
        field('New password', password, `At least 8 characters. Tell it to ${u.name} by a safe way.`),
        field('Repeat password', confirm),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Set password'), cancel),
        error);
      onSubmit(form, error, async () => {
        if (!passwordsAgree(password, confirm, error)) return;
        await api(`/api/v1/users/${encodeURIComponent(u.name)}/password`, { method: 'POST', body: { password: password.value } });
        close();
        listStatus.textContent = `Password of ${u.name} changed.`;
      });
      queueMicrotask(() => password.focus());
      return [form];
    });
  };

  const removeUser = async (u: UserRow) => {
    const yes = await confirmAction(view, { title: `Remove ${u.name}?`, message: `${u.name} can no longer sign in; their API tokens stop working and their open apps close on every gateway. Their instances and snapshots stay.`, confirm: 'Remove user' });
    if (!yes) return;
    listError.textContent = '';
    try {
      await api(`/api/v1/users/${encodeURIComponent(u.name)}`, { method: 'DELETE' });
      listStatus.textContent = `${u.name} was removed.`;
      await load();
      refocus();
    } catch (err) {
      if (err instanceof SignedOut) return;
      listError.textContent = `Cannot remove ${u.name}: ${errorText(err)}`;
    }
  };

  const render = (rows: UserRow[]) => {
    const now = Date.now();
    body.replaceChildren(...rows.map((u) => {
      const self = u.id === ctx.me.id;
      const toggle = h('button', { type: 'button', 'aria-label': `${u.admin ? 'Remove admin' : 'Make admin'}: ${u.name}` }, u.admin ? 'Remove admin' : 'Make admin');
      toggle.addEventListener('click', () => void setAdmin(u, !u.admin));
      // One's own password needs the current one: that is the account page's form.
      const reset = self
        ? h('a', { href: '/account', class: 'button' }, 'Change password')
        : h('button', { type: 'button', 'aria-label': `Set password: ${u.name}` }, 'Set password');
      if (!self) reset.addEventListener('click', () => resetPassword(u));
      const remove = self ? null : h('button', { type: 'button', 'aria-label': `Remove user: ${u.name}` }, 'Remove');
      remove?.addEventListener('click', () => void removeUser(u));
      return h('tr', { 'data-id': u.id, 'data-name': u.name },
        h('th', { scope: 'row' }, u.name, self ? h('span', { class: 'you' }, ' (you)') : null),
        h('td', {}, u.admin
          ? h('span', { class: 'role role-admin' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '★'), ' admin')
          : h('span', { class: 'role' }, 'user')),
        h('td', { class: 'num' }, h('time', { datetime: u.created, title: u.created }, ago(u.created, now))),
        h('td', {}, h('div', { class: 'row-actions' }, toggle, reset, remove)));
    }));
  };

  const load = async () => {
    table.setAttribute('aria-busy', 'true');
    try {
      const { users } = await api<{ users: UserRow[] }>('/api/v1/users');
      render(users);
    } catch (err) {
      if (err instanceof SignedOut) return;
      listError.textContent = `Cannot load the users: ${errorText(err)}`;
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  };

  // ---- add a user ----------------------------------------------------------------------------
  const name = h('input', { id: 'user-name', name: 'name', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 64 });
  const password = h('input', { id: 'user-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 });
  const repeat = h('input', { id: 'user-password-repeat', name: 'repeat', type: 'password', autocomplete: 'new-password', required: true, maxlength: 1024 });
  const admin = h('input', { id: 'user-admin', name: 'admin', type: 'checkbox' });
  const addError = errorLine('user-add-error');
  const addStatus = statusLine('user-add-status');
  const form = h('form', { id: 'user-form', class: 'form', 'aria-labelledby': 'add-user-heading', novalidate: true },
    field('User name', name, '1 to 64 letters, digits, ".", "_", "@" or "-".'),
    field('Password', password, 'At least 8 characters; they can change it on their account page.'),
    field('Repeat password', repeat),
    field('Administrator', admin, 'Can add users and agents, and sees every instance.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add user')),
    addError, addStatus);
  onSubmit(form, addError, async () => {
    addStatus.textContent = '';
    if (!name.value.trim()) {
      addError.textContent = 'Give the user a name.';
      name.focus();
      return;
    }
    if (!passwordsAgree(password, repeat, addError)) return;
    const user = await api<UserRow>('/api/v1/users', { method: 'POST', body: { name: name.value.trim(), password: password.value, admin: admin.checked } });
    form.reset();
    addStatus.textContent = `Added ${user.name}${user.admin ? ' (admin)' : ''}.`;
    await load();
  });

  view.replaceChildren(
    h('section', { class: 'panel', 'aria-labelledby': 'users-heading' }, listHeading, listError, listStatus, tableRegion(table, 'users-caption')),
    h('section', { class: 'panel', 'aria-labelledby': 'add-user-heading' }, h('h2', { id: 'add-user-heading' }, 'Add a user'), form));
  void load();
}

import { ApiError } from '../api.ts';
import type { Me } from '../page.ts';

/* What the instance page's Sharing panel derives from control's shares: pure (shares.test.ts). */

/** What a share lets its user do (control's ShareRole). */
export type ShareRole = 'viewer' | 'user';

/** control's share view: an item of `GET /api/v1/instances/:id/shares`, and the answer of its POST. */
export interface ShareRow {
  /** The user name it is shared with. */
  user: string;
  role: ShareRole;
  created: string;
  /** Who shared it (user name); null when control no longer knows them (a removed user). */
  by: string | null;
}

/** The roles, in the order the selects offer them, with what each lets its user do. */
export const SHARE_ROLES: readonly { value: ShareRole; label: string; does: string }[] = [
  { value: 'viewer', label: 'Viewer', does: 'sees the instance, its console and metrics' },
  { value: 'user', label: 'User', does: 'also opens and connects to the app' },
];

/** The role a new share gets unless another is picked. */
export const DEFAULT_SHARE_ROLE: ShareRole = 'user';

export function isShareRole(value: unknown): value is ShareRole {
  return SHARE_ROLES.some((r) => r.value === value);
}

/** A role as the panel says it ("viewer"); an unknown one as it came. */
export function roleWord(role: string): string {
  return SHARE_ROLES.find((r) => r.value === role)?.label.toLowerCase() ?? role;
}

/** The hint under the role select: every role and what it does. */
export function rolesHint(): string {
  return `${SHARE_ROLES.map((r) => `${r.label}: ${r.does}.`).join(' ')} Only the owner and admins stop it or change its sharing.`;
}

/**
 * Whether the signed-in user may see and change the instance's sharing: its owner (`owner` is
 * the view's user name) or an admin. Control decides in the end: its 403 or 404 hides the panel too.
 */
export function canManageShares(me: Pick<Me, 'name' | 'admin'>, owner: string): boolean {
  return me.admin || owner === me.name;
}

/** A failure to list the shares that means "not yours to manage": the panel stays hidden rather than showing an error. */
export function sharesRefused(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 403 || err.status === 404);
}

/** Who shared it, for the list; null `by` is a user control no longer has. */
export function sharedByWords(by: string | null): string {
  return by ?? 'a removed user';
}

/**
 * What a share request did, for the status line: a new share, a role changed, or nothing new
 * (the same role again). `before` is the list shown when it was sent.
 */
export function shareOutcome(before: readonly Pick<ShareRow, 'user' | 'role'>[], after: Pick<ShareRow, 'user' | 'role'>): string {
  const was = before.find((s) => s.user === after.user);
  const role = roleWord(after.role);
  if (!was) return `Shared with ${after.user} as ${role}.`;
  if (was.role === after.role) return `${after.user} already has the ${role} role.`;
  return `${after.user} is now a ${role} (was ${roleWord(was.role)}).`;
}

/** The revoke confirmation's text: what the user loses, and that their open app connections close. */
export function revokeMessage(user: string, instance: string): string {
  return `${user} can no longer see ${instance} or its dashboards. Their open connections to the app close now, on every gateway.`;
}

/**
 * Whether sharing with `user` as `role` takes away what they could open (user down to viewer):
 * control then closes their open app connections, so the page asks first.
 */
export function closesConnections(before: readonly Pick<ShareRow, 'user' | 'role'>[], user: string, role: ShareRole): boolean {
  return role === 'viewer' && before.some((s) => s.user === user && s.role === 'user');
}

/** The confirmation's text before making a user a viewer. */
export function downgradeMessage(user: string): string {
  return `${user} will still see the instance and its dashboards, but can no longer open or connect to the app. Their open connections to the app close now, on every gateway.`;
}

/** The sharing endpoints of one instance; `user` names one share. */
export function sharesPath(id: string, user?: string): string {
  const base = `/api/v1/instances/${encodeURIComponent(id)}/shares`;
  return user === undefined ? base : `${base}/${encodeURIComponent(user)}`;
}

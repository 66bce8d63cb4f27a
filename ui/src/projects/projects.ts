/*
 * What the Projects page derives from control's projects and their members: pure, no DOM, no
 * clock (projects.test.ts).
 */

/** What a member may do in a project (control's project role). */
export type ProjectRole = 'viewer' | 'user' | 'owner';

/** control's project view: an item of `GET /api/v1/projects`, and the answer of its POST. */
export interface ProjectRow {
  name: string;
  /** ISO time; null where control has none (a built-in project). */
  created: string | null;
  /** "Interactive Session", "Apps": anyone may launch into them, and they have no members. */
  builtIn: boolean;
  /** The caller's role; an admin is an owner of every project; null where the caller has none. */
  role: ProjectRole | null;
  /** How many members it has. */
  members: number;
}

/** control's member view: an item of `GET /api/v1/projects/:name/members`, and the answer of its POST. */
export interface MemberRow {
  /** The member's user name. */
  user: string;
  role: ProjectRole;
  /** When they were added. */
  added: string;
  /** Who added them (user name); null when control no longer knows them (a removed user). */
  by: string | null;
}

/** The roles, in the order the selects offer them, with what each lets its member do. */
export const PROJECT_ROLES: readonly { value: ProjectRole; label: string; does: string }[] = [
  { value: 'viewer', label: 'Viewer', does: "sees the project's instances and their dashboards" },
  { value: 'user', label: 'User', does: 'also launches into the project and opens and connects to its apps' },
  { value: 'owner', label: 'Owner', does: 'also manages its members' },
];

/** The role a new member gets unless another is picked. */
export const DEFAULT_MEMBER_ROLE: ProjectRole = 'user';

export function isProjectRole(value: unknown): value is ProjectRole {
  return PROJECT_ROLES.some((r) => r.value === value);
}

/** A role as the page says it ("viewer"); an unknown one as it came. */
export function roleWord(role: string): string {
  return PROJECT_ROLES.find((r) => r.value === role)?.label.toLowerCase() ?? role;
}

/** The hint under the add form's role select: every role and what it does. */
export function rolesHint(): string {
  return PROJECT_ROLES.map((r) => `${r.label}: ${r.does}.`).join(' ');
}

/** The "Your role" cell: a built-in project is everyone's to launch into; null is no role. */
export function projectRoleWords(p: Pick<ProjectRow, 'builtIn' | 'role'>): string {
  if (p.builtIn) return 'anyone may launch';
  return p.role === null ? 'none' : roleWord(p.role);
}

/** "3 members", "1 member"; null for a built-in project, which has none. */
export function memberCountWords(p: Pick<ProjectRow, 'builtIn' | 'members'>): string | null {
  if (p.builtIn) return null;
  return `${p.members} member${p.members === 1 ? '' : 's'}`;
}

/** Whether the caller manages the project's members: an owner (admins are owners of all), never of a built-in one. */
export function canManageMembers(p: Pick<ProjectRow, 'builtIn' | 'role'>): boolean {
  return !p.builtIn && p.role === 'owner';
}

/** Built-in projects first, then the others by name (case-insensitive, then exact). */
export function sortProjects<T extends Pick<ProjectRow, 'name' | 'builtIn'>>(projects: readonly T[]): T[] {
  return [...projects].sort((a, b) => {
    if (a.builtIn !== b.builtIn) return a.builtIn ? -1 : 1;
    const byName = a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });
    return byName || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
}

/** The project the address selects (`?name=`), trimmed; null when none. */
export function selectedName(query: URLSearchParams): string | null {
  const name = query.get('name')?.trim();
  return name ? name : null;
}

/** The page's query for a selected project (`name=ML+team`), or empty for none. */
export function projectQuery(name: string | null): URLSearchParams {
  const q = new URLSearchParams();
  if (name) q.set('name', name);
  return q;
}

/**
 * Why the project the address names cannot have its members shown, in words; null when it can.
 * Control decides in the end: its 403 is shown in the members panel.
 */
export function selectionProblem(projects: readonly ProjectRow[], name: string): string | null {
  const p = projects.find((x) => x.name === name);
  if (!p) return `You see no project named "${name}".`;
  if (p.builtIn) return `${p.name} is a built-in project: anyone may launch into it, and it has no members.`;
  if (!canManageMembers(p)) return `Only the owners of ${p.name} and admins manage its members${p.role ? `; you are a ${roleWord(p.role)}` : ''}.`;
  return null;
}

/** The members endpoints of one project; `user` names one member. */
export function membersPath(project: string, user?: string): string {
  const base = `/api/v1/projects/${encodeURIComponent(project)}/members`;
  return user === undefined ? base : `${base}/${encodeURIComponent(user)}`;
}

export const PROJECTS_PATH = '/api/v1/projects';

/** The create form's body: the owner only when one is named. */
export function createBody(name: string, owner: string): { name: string; owner?: string } {
  const n = name.trim();
  const o = owner.trim();
  return o ? { name: n, owner: o } : { name: n };
}

/** Who added the member, for the list; null `by` is a user control no longer has. */
export function addedByWords(by: string | null): string {
  return by ?? 'a removed user';
}

/**
 * What a member request did, for the status line: a new member, a role changed, or nothing
 * new (the same role again). `before` is the list shown when it was sent.
 */
export function memberOutcome(before: readonly Pick<MemberRow, 'user' | 'role'>[], after: Pick<MemberRow, 'user' | 'role'>, project: string): string {
  const was = before.find((m) => m.user === after.user);
  const role = roleWord(after.role);
  if (!was) return `Added ${after.user} to ${project} as ${role}.`;
  if (was.role === after.role) return `${after.user} already has the ${role} role.`;
  return `${after.user} is now a${role === 'owner' ? 'n' : ''} ${role} (was ${roleWord(was.role)}).`;
}

/** Whether the role lets its member open and connect to the project's apps. */
function connects(role: string): boolean {
  return role === 'user' || role === 'owner';
}

/**
 * Whether giving `user` the role `role` takes away what they could open (a user or owner down
 * to viewer): control then closes their open connections to the project's apps, so the page asks first.
 */
export function closesConnections(before: readonly Pick<MemberRow, 'user' | 'role'>[], user: string, role: ProjectRole): boolean {
  return role === 'viewer' && before.some((m) => m.user === user && connects(m.role));
}

export interface Confirmation { title: string; message: string; confirm: string }

/**
 * The confirmation before giving `user` the role `role`, or null when nothing is taken away.
 * `self`: the signed-in user, who stops managing the members unless an admin.
 */
export function roleChangeConfirmation(before: readonly Pick<MemberRow, 'user' | 'role'>[], user: string, role: ProjectRole, project: string, me: { name: string; admin: boolean }): Confirmation | null {
  const was = before.find((m) => m.user === user)?.role;
  const self = user === me.name;
  // An admin sees, opens and manages every project whatever their own role in it.
  if (self && me.admin) return null;
  const closes = closesConnections(before, user, role);
  const stopsManaging = self && !me.admin && was === 'owner' && role !== 'owner';
  if (!closes && !stopsManaging) return null;
  const parts: string[] = [];
  if (closes) parts.push(`${self ? 'You' : user} will still see the instances of ${project} and their dashboards, but can no longer launch into it or open or connect to its apps. ${self ? 'Your' : 'Their'} open connections to its apps close now, on every gateway.`);
  if (stopsManaging) parts.push(`You will no longer manage the members of ${project}.`);
  const word = roleWord(role);
  return { title: `Make ${self ? 'yourself' : user} a${word === 'owner' ? 'n' : ''} ${word} of ${project}?`, message: parts.join(' '), confirm: `Make ${word}` };
}

/** The confirmation before removing `user` from the project: what they lose, and that their connections close. */
export function removeConfirmation(user: string, project: string, me: { name: string; admin: boolean }): Confirmation {
  const self = user === me.name;
  const message = !self
    ? `${user} will no longer see the instances of ${project} or launch into it. Their open connections to its apps close now, on every gateway.`
    : me.admin
      ? `You will no longer be a member of ${project}; as an admin you still see it and manage its members.`
      : `You will no longer see the instances of ${project}, launch into it or manage its members. Your open connections to its apps close now, on every gateway.`;
  return { title: `Remove ${self ? 'yourself' : user} from ${project}?`, message, confirm: 'Remove member' };
}

import { BUILT_IN_PROJECTS } from '../../protocol/app-config.ts';
import { ValidationError } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { Project, ProjectRole, Store, User } from '../store/store.ts';

/*
 * Projects (issue 18): the built-in ones, where anyone launches and nobody is a member, and those
 * an admin creates, whose members have a role each:
 *   viewer  sees the project's instances and their dashboards
 *   user    also launches into it, opens and connects to its apps
 *   owner   also manages its members
 * Admins may do everything in every project.
 */

export const isBuiltIn = (name: string): boolean => BUILT_IN_PROJECTS.includes(name);

/** The user's role in a project: owner for an admin, their membership's, or undefined. */
export async function projectRole(store: Store, user: User, project: string): Promise<ProjectRole | undefined> {
  if (user.admin) return 'owner';
  if (isBuiltIn(project)) return undefined;
  return (await store.projects.getMember(project, user.id))?.role;
}

/**
 * Refuses a launch into a project the user may not launch into, naming it: one that does not
 * exist, or one where they are not a user or owner. The built-in projects are open to all.
 */
export async function checkLaunchProject(store: Store, user: User, project: string): Promise<void> {
  if (isBuiltIn(project)) return;
  if (!(await store.projects.get(project))) {
    throw new ValidationError('project', `there is no project "${project}": use ${BUILT_IN_PROJECTS.map((p) => `"${p}"`).join(' or ')}, or one an admin created (wharf projects ls)`);
  }
  const role = await projectRole(store, user, project);
  if (role !== 'user' && role !== 'owner') {
    throw new ValidationError('project', `you may not launch into project "${project}"${role ? ` (your role there is ${role})` : ''}: one of its owners can add you as a user`);
  }
}

/** The project, when the user owns it (or is an admin): 404 when they are not even a member, 403 otherwise; 400 for a built-in one. */
export async function ownedProject(store: Store, user: User, name: string): Promise<Project> {
  if (isBuiltIn(name)) throw new ValidationError('project', `"${name}" is built in: anyone launches there, and it has no members`);
  const project = await store.projects.get(name);
  const role = project && (await projectRole(store, user, name));
  if (!project || !role) throw new ControlError('CTL_NOT_FOUND', `no project "${name}"`);
  if (role !== 'owner') throw new ControlError('CTL_FORBIDDEN', `you are a ${role} of project "${name}": only its owners and admins manage its members`);
  return project;
}

/** The roles that open a project's apps (viewers see them only). */
export const OPENS_APPS = new Set<ProjectRole>(['user', 'owner']);

/** Ends a user's app sessions on every instance of a project (their membership ended or became viewer): gateways close their live connections. */
export async function closeProjectSessions(store: Store, sessions: AppSessions, user: string, project: string, now: number): Promise<void> {
  for (const instance of await store.instances.list({ project })) await sessions.revoke(user, now, instance.id);
}

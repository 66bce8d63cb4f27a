import { randomBytes } from 'node:crypto';
import { closeProjectSessions, OPENS_APPS } from '../access/projects.ts';
import { audit, type Actor } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { Clock, ProjectRole, Store, User } from '../store/store.ts';
import type { SsoConfig } from './sso-config.ts';

/** The actor of what the IdP's claims changed (admin, memberships) in the audit log. */
export const SSO_ACTOR: Actor = { id: null, name: 'single sign-on' };

/** A sign-in the IdP allowed and Wharf refuses (its message is shown on the failure page). */
export class SignInRefused extends Error {}

const RANK: Record<ProjectRole, number> = { viewer: 1, user: 2, owner: 3 };

export interface SsoUserDeps {
  store: Store;
  config: SsoConfig;
  appSessions: AppSessions;
  clock: Clock;
}

/** The groups a claim lists: an array of strings, or one string of names separated by commas or spaces. */
export function groupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/**
 * A user name for a new SSO account, from `preferred_username`, else the email, else `sub`:
 * what users.ts accepts (64 letters, digits, `.`, `_`, `@` or `-`, a letter or digit first).
 */
export function nameFromClaims(claims: Record<string, unknown>, subject: string): string {
  for (const candidate of [claims.preferred_username, claims.email, subject]) {
    if (typeof candidate !== 'string') continue;
    const name = candidate.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 60);
    if (name) return name;
  }
  return `sso-${randomBytes(4).toString('hex')}`;
}

/**
 * The user an IdP account is: the one linked at its first sign-in, or a new one (named from the
 * claims, `-2`, `-3`… when a local user has the name: never joined to an account by name,
 * which would let an IdP user take over a local one). A linked user an admin removed is refused.
 */
export async function userOf(deps: SsoUserDeps, subject: string, claims: Record<string, unknown>): Promise<User> {
  const { store, config } = deps;
  const issuer = config.issuer.href;
  const linked = await store.sso.user(issuer, subject);
  if (linked) {
    const user = await store.users.get(linked);
    if (!user) throw new SignInRefused("your Wharf account was removed by an admin");
    return user;
  }
  const base = nameFromClaims(claims, subject);
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    try {
      // A password nobody knows: an SSO user signs in through the IdP only.
      const user = await store.users.add({ name, password: randomBytes(32).toString('base64url') });
      const linked = await store.sso.link(issuer, subject, user.id);
      if (linked !== user.id) {
        // Another control (or tab) made this account's user first: that one it is.
        await store.users.remove(user.id);
        return (await store.users.get(linked)) ?? Promise.reject(new SignInRefused('your Wharf account was removed by an admin'));
      }
      await audit(store, SSO_ACTOR, 'user.add', { target: user.name, detail: { admin: false, method: 'oidc' } });
      return user;
    } catch (err) {
      if (!(err instanceof ControlError && err.code === 'CTL_USER_EXISTS') || n >= 20) throw err;
    }
  }
}

/**
 * Applies the claims' groups, at every sign-in and refresh: admin when WHARF_OIDC_ADMIN_GROUPS
 * is set (a removed group unmakes the admin), and the memberships of the projects named in
 * WHARF_OIDC_PROJECT_GROUPS: the highest role the groups give, none without one. A membership
 * lost, or lowered to viewer, closes the user's live connections to the project's apps.
 * Returns the user as it now is.
 */
export async function applyGroups(deps: SsoUserDeps, user: User, claims: Record<string, unknown>): Promise<User> {
  const { store, config } = deps;
  const groups = new Set(groupsOf(claims, config.groupsClaim));
  if (config.adminGroups.size > 0) {
    const admin = [...groups].some((g) => config.adminGroups.has(g));
    if (admin !== user.admin) {
      try {
        await store.users.setAdmin(user.id, admin);
        await audit(store, SSO_ACTOR, 'user.admin', { target: user.name, detail: { admin, method: 'oidc' } });
      } catch (err) {
        if (!(err instanceof ControlError && err.code === 'CTL_LAST_ADMIN')) throw err; // the last admin stays one
      }
    }
  }
  const wanted = new Map<string, ProjectRole | undefined>();
  for (const [group, grants] of config.projectGroups) {
    for (const { project, role } of grants) {
      const best = wanted.get(project);
      wanted.set(project, groups.has(group) && (!best || RANK[role] > RANK[best]) ? role : best);
    }
  }
  for (const [project, role] of wanted) {
    const was = await store.projects.getMember(project, user.id);
    if (role === was?.role) continue;
    if (role) {
      if (!(await store.projects.get(project))) {
        await store.projects.add(project).catch((err) => { if (!(err instanceof ControlError && err.code === 'CTL_PROJECT_EXISTS')) throw err; });
        await audit(store, SSO_ACTOR, 'project.add', { target: project, project, detail: { method: 'oidc' } });
      }
      await store.projects.setMember(project, user.id, role, user.id);
      await audit(store, SSO_ACTOR, 'member.add', { target: user.name, detail: { project, role, ...(was ? { was: was.role } : {}), method: 'oidc' } });
    } else {
      await store.projects.removeMember(project, user.id);
      await audit(store, SSO_ACTOR, 'member.remove', { target: user.name, detail: { project, method: 'oidc' } });
    }
    if (was && OPENS_APPS.has(was.role) && !(role && OPENS_APPS.has(role))) await closeProjectSessions(store, deps.appSessions, user.id, project, deps.clock());
  }
  return (await store.users.get(user.id)) ?? user;
}

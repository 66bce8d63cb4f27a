import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppSessions } from '../keys/app-sessions.ts';
import { tempStore, type TempStore } from '../store/testing.ts';
import { ssoConfig } from './sso-config.ts';
import { applyGroups, groupsOf, nameFromClaims, SignInRefused, userOf, type SsoUserDeps } from './sso-users.ts';

describe('single sign-on users', () => {
  let t: TempStore;
  let deps: SsoUserDeps;
  beforeEach(() => {
    t = tempStore();
    const config = ssoConfig({
      oidcIssuer: 'https://idp.example', oidcClientId: 'wharf', oidcClientSecret: 's', oidcScopes: 'openid', oidcGroupsClaim: 'groups',
      oidcAdminGroups: 'ops', oidcProjectGroups: 'ml-team=ml:user, ml-leads=ml:owner, viewers=ml:viewer',
    })!;
    deps = { store: t.store, config, appSessions: new AppSessions(t.store, randomBytes(32)), clock: t.clock.read };
  });
  afterEach(() => t.cleanup());

  it('reads groups as a list or a string, and names a user from what the claims offer', () => {
    expect(groupsOf({ groups: ['a', 3, 'b'] }, 'groups')).toEqual(['a', 'b']);
    expect(groupsOf({ roles: 'a, b c' }, 'roles')).toEqual(['a', 'b', 'c']);
    expect(groupsOf({}, 'groups')).toEqual([]);
    expect(nameFromClaims({ preferred_username: 'ada', email: 'x@y' }, 's')).toBe('ada');
    expect(nameFromClaims({ email: 'Ada Lovelace <ada@example.com>' }, 's')).toBe('Ada-Lovelace--ada@example.com-');
    expect(nameFromClaims({ preferred_username: '../../etc' }, 's')).toBe('etc');
    expect(nameFromClaims({}, 'sub|123')).toBe('sub-123');
  });

  it('makes a user at the first sign-in, never joins a local user by name, and refuses one an admin removed', async () => {
    const local = await t.store.users.add({ name: 'ada', password: 'local-password' });
    const first = await userOf(deps, 'sub-1', { preferred_username: 'ada' });
    expect(first.name).toBe('ada-2');
    expect(first.id).not.toBe(local.id);
    expect((await userOf(deps, 'sub-1', { preferred_username: 'renamed' })).id).toBe(first.id);
    await t.store.users.remove(first.id);
    await expect(userOf(deps, 'sub-1', {})).rejects.toThrow(SignInRefused);
  });

  it('gives the highest project role the groups give, and takes admin and membership away with the group', async () => {
    const ada = await userOf(deps, 'sub-2', { preferred_username: 'ada' });
    // While she is the only admin she stays one (Wharf keeps one); with the break-glass admin there, she does not.
    expect((await applyGroups(deps, await applyGroups(deps, ada, { groups: ['ops'] }), { groups: [] })).admin).toBe(true);
    await t.store.users.add({ name: 'admin', password: 'admin-password', admin: true });
    const role = async () => (await t.store.projects.getMember('ml', ada.id))?.role;
    let now = await applyGroups(deps, ada, { groups: ['ops', 'ml-team', 'ml-leads'] });
    expect(now.admin).toBe(true);
    expect(await role()).toBe('owner');
    now = await applyGroups(deps, now, { groups: ['viewers', 'ml-team'] });
    expect(now.admin).toBe(false);
    expect(await role()).toBe('user');
    now = await applyGroups(deps, now, { groups: [] });
    expect(await role()).toBeUndefined();
    // Each change is in the audit log, by single sign-on.
    const actions = (await t.store.audit.list({ limit: 20 })).filter((e) => e.actorName === 'single sign-on').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.add', 'user.admin', 'project.add', 'member.add', 'member.remove']));
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from '../api.ts';
import { canManageShares, closesConnections, DEFAULT_SHARE_ROLE, downgradeMessage, isShareRole, revokeMessage, roleWord, rolesHint, SHARE_ROLES, sharedByWords, shareOutcome, sharesPath, sharesRefused } from './shares.ts';

describe('instance sharing', () => {
  it('shows the panel to the owner and to admins only', () => {
    expect(canManageShares({ name: 'alice', admin: false }, 'alice')).toBe(true);
    expect(canManageShares({ name: 'root', admin: true }, 'alice')).toBe(true);
    expect(canManageShares({ name: 'bob', admin: false }, 'alice')).toBe(false);
  });

  it('hides the panel when control refuses the list, and shows other failures', () => {
    expect(sharesRefused(new ApiError('CTL_FORBIDDEN', 403, 'no'))).toBe(true);
    expect(sharesRefused(new ApiError('CTL_NOT_FOUND', 404, 'no'))).toBe(true);
    expect(sharesRefused(new ApiError('CTL_INTERNAL', 500, 'oops'))).toBe(false);
    expect(sharesRefused(new TypeError('fetch failed'))).toBe(false);
  });

  it('knows the two roles, "user" first to be picked', () => {
    expect(SHARE_ROLES.map((r) => r.value)).toEqual(['viewer', 'user']);
    expect(DEFAULT_SHARE_ROLE).toBe('user');
    expect(isShareRole('viewer')).toBe(true);
    expect(isShareRole('owner')).toBe(false);
    expect(roleWord('viewer')).toBe('viewer');
    expect(roleWord('editor')).toBe('editor');
    expect(rolesHint()).toBe('Viewer: sees the instance, its console and metrics. User: also opens and connects to the app. Only the owner and admins stop it or change its sharing.');
  });

  it('says what a share request did', () => {
    const before = [{ user: 'bob', role: 'viewer' as const }];
    expect(shareOutcome(before, { user: 'carol', role: 'user' })).toBe('Shared with carol as user.');
    expect(shareOutcome(before, { user: 'bob', role: 'user' })).toBe('bob is now a user (was viewer).');
    expect(shareOutcome(before, { user: 'bob', role: 'viewer' })).toBe('bob already has the viewer role.');
  });

  it('names who shared, or a removed user', () => {
    expect(sharedByWords('alice')).toBe('alice');
    expect(sharedByWords(null)).toBe('a removed user');
  });

  it('warns that revoking closes the open connections', () => {
    expect(revokeMessage('bob', 'k3f9a2b7c1d0')).toMatch(/^bob can no longer see k3f9a2b7c1d0\b.*open connections to the app close now/);
  });

  it('asks first only when a user goes down to viewer (control closes their connections)', () => {
    const before = [{ user: 'bob', role: 'user' as const }, { user: 'carol', role: 'viewer' as const }];
    expect(closesConnections(before, 'bob', 'viewer')).toBe(true);
    expect(closesConnections(before, 'bob', 'user')).toBe(false);
    expect(closesConnections(before, 'carol', 'viewer')).toBe(false);
    expect(closesConnections(before, 'dave', 'viewer')).toBe(false);
    expect(downgradeMessage('bob')).toMatch(/^bob will still see .*can no longer open or connect to the app\. Their open connections to the app close now/);
  });

  it('builds the sharing paths, encoding the parts', () => {
    expect(sharesPath('k3f9a2b7c1d0')).toBe('/api/v1/instances/k3f9a2b7c1d0/shares');
    expect(sharesPath('k3f9a2b7c1d0', 'bob@example.org')).toBe('/api/v1/instances/k3f9a2b7c1d0/shares/bob%40example.org');
    expect(sharesPath('a/b', 'x y')).toBe('/api/v1/instances/a%2Fb/shares/x%20y');
  });
});

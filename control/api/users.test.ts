import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './testing.ts';

describe('PATCH /api/v1/users/:name {admin} (in process)', () => {
  let f: ApiFixture;
  let root: string;
  let bob: string;

  beforeEach(async () => {
    f = await apiFixture();
    root = (await f.user('root', { admin: true })).token;
    bob = (await f.user('bob')).token;
  });
  afterEach(() => f.close());

  const patch = (name: string, token: string, payload: unknown) => f.control.app.inject({
    method: 'PATCH', url: `/api/v1/users/${encodeURIComponent(name)}`, payload: payload as object, headers: { authorization: `Bearer ${token}` },
  });
  const adminOf = async (name: string) => (await f.t.store.users.getByName(name))?.admin;

  it('lets an admin make a user an admin, and take it back', async () => {
    const up = await patch('bob', root, { admin: true });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toMatchObject({ name: 'bob', admin: true });
    expect(await adminOf('bob')).toBe(true);
    // Now bob, an admin, may do it too: he takes root's admin away (two admins, so it is allowed).
    const down = await patch('root', bob, { admin: false });
    expect(down.statusCode, down.body).toBe(200);
    expect(down.json()).toMatchObject({ name: 'root', admin: false });
    expect(await adminOf('root')).toBe(false);
    // Setting what is already so is fine.
    expect((await patch('bob', bob, { admin: true })).statusCode).toBe(200);
  });

  it('lets an admin demote themself while another admin remains', async () => {
    await patch('bob', root, { admin: true });
    const res = await patch('root', root, { admin: false });
    expect(res.statusCode, res.body).toBe(200);
    expect(await adminOf('root')).toBe(false);
  });

  it('refuses a non-admin with 403', async () => {
    const res = await patch('bob', bob, { admin: true });
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-wharf-error']).toBe('CTL_FORBIDDEN');
    expect(await adminOf('bob')).toBe(false);
  });

  it('answers 404 for an unknown user', async () => {
    const res = await patch('nobody', root, { admin: true });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-wharf-error']).toBe('CTL_NOT_FOUND');
  });

  it('keeps the last admin an admin, also when they demote themself', async () => {
    const res = await patch('root', root, { admin: false });
    expect(res.statusCode).toBe(409);
    expect(res.headers['x-wharf-error']).toBe('CTL_LAST_ADMIN');
    expect(res.json().error.message).toMatch(/last admin/);
    expect(await adminOf('root')).toBe(true);
  });

  it('validates the body and names the field', async () => {
    for (const payload of [{}, { admin: 'yes' }]) {
      const res = await patch('bob', root, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.message).toMatch(/^admin: /);
    }
    const extra = await patch('bob', root, { admin: true, name: 'x' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.message).toMatch(/^name: unknown field/);
    expect(await adminOf('bob')).toBe(false);
  });
});

describe('changing passwords and removing users end sessions (in process)', () => {
  const ORIGIN = 'https://wharf.test:8443';
  let f: ApiFixture;
  let root: string;
  let bob: { id: string; token: string };

  beforeEach(async () => {
    f = await apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' } });
    root = (await f.user('root', { admin: true })).token;
    bob = await f.user('bob');
  });
  afterEach(() => f.close());

  const login = async (name = 'bob', password = 'bob-password') => {
    const res = await f.control.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password }, headers: { origin: ORIGIN } });
    expect(res.statusCode, res.body).toBe(200);
    return String(res.headers['set-cookie']).split(';')[0];
  };
  const me = async (cookie: string) => (await f.control.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode;
  const passwd = (body: object, auth: Record<string, string>, name = 'bob') => f.control.app.inject({
    method: 'POST', url: `/api/v1/users/${name}/password`, payload: body, headers: { origin: ORIGIN, ...auth },
  });
  const revoked = () => f.control.appSessions.revocations();

  it('asks for the current password to change one\'s own: 400 without it, 403 when wrong, nothing changed', async () => {
    const without = await passwd({ password: 'new-bob-password' }, { authorization: `Bearer ${bob.token}` });
    expect(without.statusCode).toBe(400);
    expect(without.json().error).toMatchObject({ code: 'CTL_INVALID', field: 'currentPassword' });
    expect(without.json().error.message).toMatch(/^currentPassword: is needed to change your own password/);
    const wrong = await passwd({ password: 'new-bob-password', currentPassword: 'not-it' }, { authorization: `Bearer ${bob.token}` });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.headers['x-wharf-error']).toBe('CTL_WRONG_PASSWORD');
    expect(wrong.json().error.message).toMatch(/current password is wrong/);
    expect(await f.t.store.users.verifyPassword('bob', 'bob-password')).toBeDefined();
    expect(revoked()).toEqual([]);
    // Too short a new one is refused by its field, the current one being right.
    expect((await passwd({ password: 'short', currentPassword: 'bob-password' }, { authorization: `Bearer ${bob.token}` })).json().error.field).toBe('password');
  });

  it('throttles guesses of the current password as it throttles sign-ins: a stolen token cannot guess it', async () => {
    await f.close();
    f = await apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' }, signin: { refuseAfter: 3, delayMs: 0 } });
    bob = await f.user('bob');
    const guess = (currentPassword: string) => passwd({ password: 'taken-over-1', currentPassword }, { authorization: `Bearer ${bob.token}` });
    for (const wrong of ['guess-1', 'guess-2', 'guess-3']) expect((await guess(wrong)).headers['x-wharf-error']).toBe('CTL_WRONG_PASSWORD');
    const refused = await guess('bob-password');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['x-wharf-error']).toBe('CTL_TOO_MANY_SIGNINS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await f.t.store.users.verifyPassword('bob', 'bob-password')).toBeDefined();
  });

  it('ends the user\'s dashboard sessions and app sessions; the browser that asked goes on with a new session', async () => {
    const here = await login();
    const elsewhere = await login();
    const before = f.t.clock.advance(1000);
    const res = await passwd({ password: 'new-bob-password', currentPassword: 'bob-password' }, { cookie: here });
    expect(res.statusCode, res.body).toBe(204);
    expect(await f.t.store.users.verifyPassword('bob', 'new-bob-password')).toBeDefined();
    expect(await me(elsewhere)).toBe(401);
    // The old cookie of the browser that asked ends too: a stolen copy of it may be the reason.
    expect(await me(here)).toBe(401);
    const reissued = String(res.headers['set-cookie']).split(';')[0];
    expect(reissued).toMatch(/^wharf_console=v1\./);
    expect(reissued).not.toBe(here);
    expect(await me(reissued)).toBe(200);
    // Every gateway is told to refuse bob's app cookies and tokens issued before now.
    expect(revoked()).toEqual([{ user: bob.id, instance: '*', before }]);
    // A new sign-in works.
    expect(await me(await login('bob', 'new-bob-password'))).toBe(200);
  });

  it('lets an admin set another\'s password without theirs, ending all of that user\'s sessions', async () => {
    const bobs = await login();
    f.t.clock.advance(1000);
    const res = await passwd({ password: 'reset-by-root' }, { authorization: `Bearer ${root}` });
    expect(res.statusCode, res.body).toBe(204);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await me(bobs)).toBe(401);
    expect(revoked().map((r) => r.user)).toEqual([bob.id]);
  });

  it('removes a user (admins only): sessions, tokens and app sessions end; the last admin stays', async () => {
    const bobs = await login();
    const del = (name: string, token: string) => f.control.app.inject({ method: 'DELETE', url: `/api/v1/users/${name}`, headers: { authorization: `Bearer ${token}` } });
    expect((await del('root', bob.token)).headers['x-wharf-error']).toBe('CTL_FORBIDDEN');
    expect((await del('nobody', root)).statusCode).toBe(404);
    expect((await del('root', root)).headers['x-wharf-error']).toBe('CTL_LAST_ADMIN');
    const res = await del('bob', root);
    expect(res.statusCode, res.body).toBe(204);
    expect(await me(bobs)).toBe(401);
    expect((await f.call('GET', '/api/v1/me', bob.token)).statusCode).toBe(401);
    expect((await f.call('GET', '/api/v1/users', root)).json().users.map((u: { name: string }) => u.name)).toEqual(['root']);
    expect(revoked()).toEqual([{ user: bob.id, instance: '*', before: f.t.clock.now }]);
    expect((await del('bob', root)).statusCode).toBe(404);
  });

  it('revokes a demoted admin\'s app sessions, which may be for others\' instances', async () => {
    expect((await patchAs(f, 'bob', root, { admin: true })).statusCode).toBe(200);
    expect(revoked()).toEqual([]);
    expect((await patchAs(f, 'bob', root, { admin: false })).statusCode).toBe(200);
    expect(revoked()).toEqual([{ user: bob.id, instance: '*', before: f.t.clock.now }]);
  });
});

function patchAs(f: ApiFixture, name: string, token: string, payload: object) {
  return f.control.app.inject({ method: 'PATCH', url: `/api/v1/users/${encodeURIComponent(name)}`, payload, headers: { authorization: `Bearer ${token}` } });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './testing.ts';

describe('PATCH /api/v1/users/:name {admin} (in process)', () => {
  let f: ApiFixture;
  let root: string;
  let bob: string;

  beforeEach(async () => {
    f = apiFixture();
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

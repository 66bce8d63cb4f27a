import { GATEWAY_KEY_HEADER } from '../protocol/gateway-forwarding.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './api/testing.ts';
import type { ControlApp } from './server.ts';
import type { TempStore } from './store/testing.ts';

describe('control API (in process)', () => {
  let t: TempStore;
  let control: ControlApp;
  let adminToken: string;
  let bobToken: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture();
    ({ t, control } = f);
    adminToken = (await f.user('admin', { admin: true })).token;
    bobToken = (await f.user('bob')).token;
  });
  afterEach(() => f.close());

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, payload?: object) => f.call(method, url, token, payload);

  it('answers /healthz and serves the signing keys as a JWKS', async () => {
    expect((await call('GET', '/healthz')).json()).toEqual({ status: 'ok' });
    const jwks = (await call('GET', '/.well-known/jwks.json')).json() as { keys: { kty: string; alg: string; kid: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', alg: 'EdDSA' });
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });

  it('requires an API token, with a coded JSON error and no stack', async () => {
    for (const token of [undefined, 'wharf_nope_nope', 'garbage']) {
      const res = await call('GET', '/api/v1/me', token);
      expect(res.statusCode).toBe(401);
      expect(res.headers['x-wharf-error']).toBe('CTL_UNAUTHENTICATED');
      expect(res.json().error).toMatchObject({ code: 'CTL_UNAUTHENTICATED', status: 401 });
      expect(res.body).not.toContain('at ');
    }
    expect((await call('GET', '/api/v1/me', bobToken)).json()).toMatchObject({ name: 'bob', admin: false });
  });

  it('lets an admin add users and a non-admin only see and change themself', async () => {
    const added = await call('POST', '/api/v1/users', adminToken, { name: 'carol', password: 'carol-password' });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ name: 'carol', admin: false });
    expect(added.body).not.toContain('carol-password');

    const refused = await call('POST', '/api/v1/users', bobToken, { name: 'dave', password: 'dave-password' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('CTL_FORBIDDEN');

    expect((await call('GET', '/api/v1/users', adminToken)).json().users.map((u: { name: string }) => u.name)).toEqual(['admin', 'bob', 'carol']);
    expect((await call('GET', '/api/v1/users', bobToken)).json().users.map((u: { name: string }) => u.name)).toEqual(['bob']);

    // One's own password needs the current one (control/api/users.test.ts has the rest).
    expect((await call('POST', '/api/v1/users/bob/password', bobToken, { password: 'new-bob-password' })).json().error.field).toBe('currentPassword');
    expect((await call('POST', '/api/v1/users/bob/password', bobToken, { password: 'new-bob-password', currentPassword: 'bob-password' })).statusCode).toBe(204);
    expect(await t.store.users.verifyPassword('bob', 'new-bob-password')).toBeDefined();
    expect((await call('POST', '/api/v1/users/carol/password', bobToken, { password: 'hijacked-pass' })).json().error.code).toBe('CTL_FORBIDDEN');
    expect((await call('POST', '/api/v1/users/carol/password', adminToken, { password: 'reset-by-admin' })).statusCode).toBe(204);
    expect((await call('POST', '/api/v1/users/nobody/password', adminToken, { password: 'whatever-pass' })).json().error.code).toBe('CTL_NOT_FOUND');
    expect((await call('POST', '/api/v1/users', adminToken, { name: 'bob', password: 'bob-password' })).json().error.code).toBe('CTL_USER_EXISTS');
  });

  it('refuses invalid bodies with 400 CTL_INVALID naming the field', async () => {
    const cases: [string, object, string][] = [
      ['/api/v1/users', { name: 'x y', password: 'long-enough' }, 'name'],
      ['/api/v1/users', { name: 'erin', password: 'short' }, 'password'],
      ['/api/v1/users', { name: 'erin', password: 'long-enough', admin: 'yes' }, 'admin'],
      ['/api/v1/users', { name: 'erin', password: 'long-enough', role: 'root' }, 'role'],
      ['/api/v1/users', { password: 'long-enough' }, 'name'],
      ['/api/v1/tokens', { name: '' }, 'name'],
      ['/api/v1/gateways', { name: 'a b' }, 'name'],
    ];
    for (const [url, body, field] of cases) {
      const res = await call('POST', url, adminToken, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.headers['x-wharf-error']).toBe('CTL_INVALID');
      expect(res.json().error.message.startsWith(`${field}: `), res.json().error.message).toBe(true);
    }
    const bad = await control.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, payload: '{bad' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('CTL_INVALID');
  });

  it('creates tokens shown once, lists them without the secret, and revokes them', async () => {
    const created = (await call('POST', '/api/v1/tokens', bobToken, { name: 'ci' })).json() as { id: string; token: string };
    expect(created.token).toMatch(/^wharf_/);
    expect((await call('GET', '/api/v1/me', created.token)).json().name).toBe('bob');
    const listed = await call('GET', '/api/v1/tokens', bobToken);
    expect(listed.json().tokens.map((x: { name: string }) => x.name).sort()).toEqual(['ci', 'test']);
    expect(listed.body).not.toContain(created.token.split('_')[2]);

    // Another user's token is not found for bob; the admin may revoke it.
    const adminsOwn = (await call('POST', '/api/v1/tokens', adminToken, { name: 'mine' })).json() as { id: string };
    expect((await call('DELETE', `/api/v1/tokens/${adminsOwn.id}`, bobToken)).json().error.code).toBe('CTL_NOT_FOUND');
    expect((await call('DELETE', `/api/v1/tokens/${created.id}`, adminToken)).statusCode).toBe(204);
    expect((await call('GET', '/api/v1/me', created.token)).statusCode).toBe(401);
  });

  it('lets only an admin add gateways; the key opens the route stream and an API token does not', async () => {
    expect((await call('POST', '/api/v1/gateways', bobToken, { name: 'g1' })).json().error.code).toBe('CTL_FORBIDDEN');
    const gw = await call('POST', '/api/v1/gateways', adminToken, { name: 'g1' });
    expect(gw.statusCode).toBe(201);
    const { key } = gw.json() as { key: string };
    expect(key).toMatch(/^wharfgw_/);

    const refused = await call('GET', '/api/v1/gateways/routes', adminToken);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['x-wharf-error']).toBe('CTL_GATEWAY_KEY');
    // With the key the stream starts with a snapshot (over a real socket: inject cannot end a hijacked stream).
    await control.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = control.app.server.address() as AddressInfo;
    const first = await new Promise<{ status: number; chunk: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/gateways/routes', headers: { authorization: `Bearer ${key}` } }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve({ status: res.statusCode ?? 0, chunk: c.toString() });
          req.destroy();
        });
      });
      req.on('error', reject);
    });
    expect(first.status).toBe(200);
    expect(first.chunk).toContain('snapshot');
    control.stream.close();
  });

  it('answers unknown paths 404 CTL_NOT_FOUND and counts API requests in /metrics', async () => {
    const res = await call('GET', '/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('CTL_NOT_FOUND');
    await call('GET', '/api/v1/me', bobToken);
    const text = (await call('GET', '/metrics')).body;
    expect(text).toContain('wharf_control_api_requests_total{route="/api/v1/me",code="200"} 1');
    expect(text).toContain('wharf_control_process_cpu_seconds_total');
  });

  it('does not serve /metrics to what a gateway forwards from its main host (the internet)', async () => {
    const res = await f.control.app.inject({ method: 'GET', url: '/metrics', headers: { [GATEWAY_KEY_HEADER]: 'whatever' } });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('wharf_control');
  });
});

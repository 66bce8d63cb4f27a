import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../audit/audit-log.ts';
import type { AuditEntryView } from './audit.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

const config = { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } };

describe('the audit log through the API (in process)', () => {
  let f: ApiFixture;
  let root: { id: string; token: string };
  let bob: { id: string; token: string };
  /** Every secret the test handles: none may show in the log. */
  const secrets: string[] = [];

  beforeEach(async () => {
    f = await apiFixture({ hosts: { publicUrl: 'https://wharf.test:8443/', appsDomain: 'apps.test' } });
    root = await f.user('root', { admin: true });
    bob = await f.user('bob');
    secrets.push(root.token, bob.token, 'root-password', 'bob-password');
  });
  afterEach(() => f.close());

  const ok = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string | undefined, payload?: unknown) => {
    const res = await f.call(method, url, token, payload);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.statusCode === 204 ? undefined : res.json();
  };
  const audit = async (query = '', token = root.token) => {
    const res = await f.call('GET', `/api/v1/audit${query}`, token);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { entries: AuditEntryView[]; next: string | null };
  };

  it('records every kind of action with its actor, target and time, and never a secret', async () => {
    // Sign-ins: one refused, one accepted.
    expect((await f.call('POST', '/api/v1/auth/login', undefined, { name: 'bob', password: 'wrong-password' })).statusCode).toBe(401);
    const signedIn = await f.call('POST', '/api/v1/auth/login', undefined, { name: 'bob', password: 'bob-password' });
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0];
    secrets.push(cookie.slice(cookie.indexOf('=') + 1));
    expect((await f.call('POST', '/api/v1/auth/logout', undefined, undefined, { cookie, origin: 'https://wharf.test:8443' })).statusCode).toBe(204);
    // An instance: launched, a token and a tunnel's token issued, stopped, removed.
    const launched = await ok('POST', '/api/v1/instances', bob.token, config);
    const instance = launched.id as string;
    secrets.push((await ok('POST', `/api/v1/instances/${instance}/token`, bob.token, {})).token);
    secrets.push((await ok('POST', `/api/v1/instances/${instance}/token`, bob.token, { purpose: 'connect' })).token);
    await ok('POST', `/api/v1/instances/${instance}/shares`, bob.token, { user: 'root', role: 'viewer' });
    await ok('POST', `/api/v1/instances/${instance}/shares`, bob.token, { user: 'root', role: 'viewer' }); // no change: no entry
    await ok('POST', `/api/v1/instances/${instance}/shares`, bob.token, { user: 'root', role: 'user' });
    await ok('DELETE', `/api/v1/instances/${instance}/shares/root`, bob.token);
    await ok('POST', `/api/v1/instances/${instance}/stop`, bob.token);
    await ok('DELETE', `/api/v1/instances/${instance}`, bob.token);
    // Projects and members.
    await ok('POST', '/api/v1/projects', root.token, { name: 'ML', owner: 'bob' });
    await ok('POST', '/api/v1/projects/ML/members', bob.token, { user: 'root', role: 'viewer' });
    await ok('DELETE', '/api/v1/projects/ML/members/root', bob.token);
    // Users, admins, passwords, API tokens.
    await ok('POST', '/api/v1/users', root.token, { name: 'carol', password: 'carol-s3cret-password' });
    secrets.push('carol-s3cret-password', 'carol-n3w-password');
    await ok('PATCH', '/api/v1/users/carol', root.token, { admin: true });
    await ok('POST', '/api/v1/users/carol/password', root.token, { password: 'carol-n3w-password' });
    await ok('DELETE', '/api/v1/users/carol', root.token);
    const token = await ok('POST', '/api/v1/tokens', bob.token, { name: 'laptop' });
    secrets.push(token.token);
    await ok('DELETE', `/api/v1/tokens/${token.id}`, bob.token);
    // Agents, gateways and keys.
    const agent = await ok('POST', '/api/v1/agents', root.token, { name: 'gpu-1', queues: ['gpu'] });
    secrets.push(agent.secret);
    await ok('POST', `/api/v1/agents/${agent.id}/drain`, root.token);
    await ok('POST', `/api/v1/agents/${agent.id}/resume`, root.token);
    const gateway = await ok('POST', '/api/v1/gateways', root.token, { name: 'edge' });
    secrets.push(gateway.key);
    const rotated = await ok('POST', '/api/v1/keys/rotate', root.token);

    const { entries } = await audit('?limit=500');
    const at = new Date(f.t.clock.now).toISOString();
    const line = (e: AuditEntryView) => [e.actor, e.action, e.target, e.instance, JSON.stringify(e.detail)].join(' ');
    expect(entries.map(line).reverse()).toEqual([
      'bob signin.failed   {"method":"password","reason":"wrong user name or password"}',
      'bob signin bob  {"method":"password"}',
      'bob signout bob  {"method":"password"}',
      `bob instance.launch ${instance} ${instance} ${JSON.stringify({ app: 'container', name: launched.name, project: launched.project, queue: launched.queue })}`,
      `bob app.token ${instance} ${instance} {"purpose":"token"}`,
      `bob app.token ${instance} ${instance} {"purpose":"connect"}`,
      `bob share.add root ${instance} {"role":"viewer"}`,
      `bob share.add root ${instance} {"role":"user","was":"viewer"}`,
      `bob share.remove root ${instance} {}`,
      `bob instance.stop ${instance} ${instance} {"from":"queued"}`,
      `bob instance.remove ${instance} ${instance} {"snapshots":false}`,
      'root project.add ML  {}',
      'root member.add bob  {"project":"ML","role":"owner"}',
      'bob member.add root  {"project":"ML","role":"viewer"}',
      'bob member.remove root  {"project":"ML"}',
      'root user.add carol  {"admin":false}',
      'root user.admin carol  {"admin":true}',
      'root user.password carol  {}',
      'root user.remove carol  {}',
      `bob apitoken.create ${token.id}  {"name":"laptop"}`,
      `bob apitoken.revoke ${token.id}  {"name":"laptop"}`,
      `root agent.add ${agent.id}  {"name":"gpu-1","queues":"gpu"}`,
      `root agent.drain ${agent.id}  {"name":"gpu-1"}`,
      `root agent.resume ${agent.id}  {"name":"gpu-1"}`,
      `root gateway.add ${gateway.id}  {"name":"edge"}`,
      `root keys.rotate ${rotated.kid}  {}`,
    ]);
    for (const e of entries) expect(e.at).toBe(at);
    // Each kind of action was done above (the idle limit's stops: control/idle/idle-monitor.test.ts).
    expect(new Set(entries.map((e) => e.action))).toEqual(new Set(Object.keys(AUDIT_ACTIONS)));
    const text = JSON.stringify(entries);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('filters by user, instance, action and time, and pages newest first with next', async () => {
    const a = (await ok('POST', '/api/v1/instances', bob.token, config)).id as string;
    f.t.clock.advance(60_000);
    const b = (await ok('POST', '/api/v1/instances', root.token, config)).id as string;
    await ok('POST', `/api/v1/instances/${a}/stop`, root.token);
    const show = (list: AuditEntryView[]) => list.map((e) => `${e.actor}:${e.action}:${e.instance}`);
    expect(show((await audit('?user=bob')).entries)).toEqual([`bob:instance.launch:${a}`]);
    expect(show((await audit(`?instance=${a}`)).entries)).toEqual([`root:instance.stop:${a}`, `bob:instance.launch:${a}`]);
    expect(show((await audit('?action=instance.launch')).entries)).toEqual([`root:instance.launch:${b}`, `bob:instance.launch:${a}`]);
    expect(show((await audit(`?since=${new Date(f.t.clock.now).toISOString()}`)).entries)).toEqual([`root:instance.stop:${a}`, `root:instance.launch:${b}`]);
    expect(show((await audit(`?until=${f.t.clock.now}`)).entries)).toEqual([`bob:instance.launch:${a}`]);
    const first = await audit('?limit=2');
    expect(show(first.entries)).toEqual([`root:instance.stop:${a}`, `root:instance.launch:${b}`]);
    expect(first.next).toBe(String(first.entries[1].seq));
    const second = await audit(`?limit=2&before=${first.next}`);
    expect(show(second.entries)).toEqual([`bob:instance.launch:${a}`]);
    expect(second.next).toBeNull();
  });

  it('is for admins: 401 without credentials, 403 for a user', async () => {
    const anonymous = await f.call('GET', '/api/v1/audit');
    expect(anonymous.statusCode).toBe(401);
    const user = await f.call('GET', '/api/v1/audit', bob.token);
    expect(user.statusCode).toBe(403);
    expect(user.headers['x-wharf-error']).toBe('CTL_FORBIDDEN');
  });

  it('gives a project\'s owners its entries (its instances, even removed, and its members), and nobody else but admins', async () => {
    const carol = await f.user('carol');
    await ok('POST', '/api/v1/projects', root.token, { name: 'ML', owner: 'bob' });
    await ok('POST', '/api/v1/projects/ML/members', bob.token, { user: 'carol', role: 'user' });
    f.t.clock.advance(1_000);
    const inside = (await ok('POST', '/api/v1/instances', carol.token, { ...config, project: 'ML' })).id as string;
    f.t.clock.advance(1_000);
    await ok('POST', '/api/v1/instances', carol.token, config); // in Apps: not ML's
    await ok('POST', `/api/v1/instances/${inside}/stop`, carol.token);
    await ok('DELETE', `/api/v1/instances/${inside}`, carol.token);
    const show = (list: AuditEntryView[]) => list.map((e) => `${e.actor}:${e.action}:${e.target}`);
    const expected = [`carol:instance.remove:${inside}`, `carol:instance.stop:${inside}`, `carol:instance.launch:${inside}`, 'bob:member.add:carol', 'root:member.add:bob', 'root:project.add:ML'];
    expect(show((await audit('?project=ML', bob.token)).entries)).toEqual(expected);
    expect(show((await audit('?project=ML')).entries)).toEqual(expected); // an admin
    expect((await audit('?project=ML', bob.token)).entries.every((e) => e.project === 'ML')).toBe(true);
    // A user of the project is not an owner; a stranger does not see it exists; built-in ones have no owners.
    expect((await f.call('GET', '/api/v1/audit?project=ML', carol.token)).statusCode).toBe(403);
    const stranger = await f.user('dan');
    expect((await f.call('GET', '/api/v1/audit?project=ML', stranger.token)).statusCode).toBe(404);
    expect((await f.call('GET', '/api/v1/audit?project=Apps', carol.token)).statusCode).toBe(403);
    expect((await f.call('GET', '/api/v1/audit', bob.token)).statusCode).toBe(403);
  });

  it('refuses a bad query naming the field', async () => {
    for (const [query, field] of [['?action=launch', 'action'], ['?since=yesterday', 'since'], ['?limit=0', 'limit'], ['?limit=501', 'limit'], ['?before=x', 'before'], ['?color=red', 'color']]) {
      const res = await f.call('GET', `/api/v1/audit${query}`, root.token);
      expect(res.statusCode, query).toBe(400);
      expect(res.body, query).toContain(field);
      expect(res.body, query).not.toContain('    at ');
    }
  });
});

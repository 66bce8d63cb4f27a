import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, testSpec } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

/*
 * Who may do what with an instance (control/access/instance-access.ts), route by route: its
 * owner, a user it is shared with as viewer, one it is shared with as user, a viewer, a user
 * and an owner of its project, another user, an admin, and nobody (no credentials). Each cell is asserted; a new instance route without a
 * row fails the test. Each call gets a fresh instance of its own, shared the same way.
 */

/** viewer, user: shared with as such; projectViewer, projectUser, projectOwner: members of the instance's project. */
type Caller = 'anonymous' | 'other' | 'viewer' | 'user' | 'projectViewer' | 'projectUser' | 'projectOwner' | 'owner' | 'admin';
const CALLERS: Caller[] = ['anonymous', 'other', 'viewer', 'user', 'projectViewer', 'projectUser', 'projectOwner', 'owner', 'admin'];

interface Row {
  /** `METHOD /path` as the app registers it. */
  endpoint: string;
  expect: Record<Caller, number>;
  body?: unknown;
  /** Brings the fresh instance where the call makes sense (stopped, for a removal). */
  prepare?: (id: string) => Promise<void>;
}

const SEE = { anonymous: 401, other: 404, viewer: 200, user: 200, projectViewer: 200, projectUser: 200, projectOwner: 200, owner: 200, admin: 200 };
const USE = { anonymous: 401, other: 404, viewer: 403, user: 200, projectViewer: 403, projectUser: 200, projectOwner: 200, owner: 200, admin: 200 };
// A project's owner manages its members, not its instances.
const OWN = (ok: number) => ({ anonymous: 401, other: 404, viewer: 403, user: 403, projectViewer: 403, projectUser: 403, projectOwner: 403, owner: ok, admin: ok });

describe('instance routes × callers (in process)', () => {
  let f: ApiFixture;
  const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>;
  let ids: { viewer: string; user: string; owner: string };

  beforeAll(async () => {
    f = await apiFixture();
    const made = await Promise.all([
      f.user('root', { admin: true }), f.user('alice'), f.user('bob'), f.user('cy'), f.user('dan'), f.user('pia'), f.user('pat'), f.user('poe'),
    ]);
    [tokens.admin, tokens.owner, tokens.viewer, tokens.user, tokens.other, tokens.projectViewer, tokens.projectUser, tokens.projectOwner] = made.map((m) => m.token);
    ids = { owner: made[1].id, viewer: made[2].id, user: made[3].id };
    await f.t.store.projects.add('Team');
    for (const [i, role] of [[5, 'viewer'], [6, 'user'], [7, 'owner']] as const) await f.t.store.projects.setMember('Team', made[i].id, role, made[0].id);
  });
  afterAll(() => f.close());

  /** A fresh instance of alice's in project Team, shared with bob as viewer and cy as user. */
  const fresh = async (): Promise<string> => {
    const id = (await f.t.store.instances.create({ owner: ids.owner, config: testConfig({ project: 'Team' }), spec: testSpec() })).id;
    await f.t.store.shares.set(id, ids.viewer, 'viewer', ids.owner);
    await f.t.store.shares.set(id, ids.user, 'user', ids.owner);
    return id;
  };
  const stopped = async (id: string) => {
    await f.t.store.instances.updateStatus(id, 'stopped', null);
  };

  const ROWS: Row[] = [
    { endpoint: 'GET /api/v1/instances/:id', expect: SEE },
    { endpoint: 'GET /api/v1/instances/:id/console', expect: SEE },
    { endpoint: 'GET /api/v1/instances/:id/metrics', expect: SEE },
    { endpoint: 'GET /api/v1/instances/:id/config', expect: USE },
    { endpoint: 'POST /api/v1/instances/:id/token', expect: USE, body: {} },
    { endpoint: 'POST /api/v1/instances/:id/stop', expect: OWN(200) },
    { endpoint: 'DELETE /api/v1/instances/:id', expect: OWN(200), prepare: stopped },
    // No snapshot yet: the owner (and the project's users) get past the check to "nothing to clone from".
    { endpoint: 'POST /api/v1/instances/:id/clone', expect: { ...OWN(409), projectUser: 409, projectOwner: 409 } },
    // A queued instance: the owner gets past the check to "not running".
    { endpoint: 'POST /api/v1/instances/:id/snapshot', expect: OWN(400) },
    { endpoint: 'GET /api/v1/instances/:id/shares', expect: OWN(200) },
    { endpoint: 'POST /api/v1/instances/:id/shares', expect: OWN(200), body: { user: 'dan', role: 'viewer' } },
    { endpoint: 'DELETE /api/v1/instances/:id/shares/:user', expect: OWN(204) },
  ];

  it('has a row for every instance route', () => {
    const routes = f.control.endpoints.filter((e) => e.includes(' /api/v1/instances/:id'));
    expect(routes.filter((e) => !ROWS.some((r) => r.endpoint === e)), 'instance routes without a row here').toEqual([]);
    expect(ROWS.filter((r) => !routes.includes(r.endpoint)), 'rows of routes that do not exist').toEqual([]);
  });

  it.each(ROWS)('$endpoint', async (row) => {
    const answers = {} as Record<Caller, number>;
    for (const caller of CALLERS) {
      const id = await fresh();
      await row.prepare?.(id);
      const [method, path] = row.endpoint.split(' ');
      const url = path.replace(':id', id).replace(':user', 'bob');
      const res = await f.call(method as 'GET', url, caller === 'anonymous' ? undefined : tokens[caller], row.body);
      answers[caller] = res.statusCode;
      if (res.statusCode >= 400) expect(res.body, `${caller}: ${res.body}`).not.toContain('    at ');
    }
    expect(answers).toEqual(row.expect);
  });

  it('lists to each user their own instances and those shared with them; an admin sees all', async () => {
    const id = await fresh();
    const listed = async (caller: Exclude<Caller, 'anonymous'>) => ((await f.call('GET', '/api/v1/instances', tokens[caller])).json() as { instances: { id: string }[] }).instances.map((i) => i.id);
    for (const caller of ['owner', 'viewer', 'user', 'projectViewer', 'projectUser', 'projectOwner', 'admin'] as const) expect(await listed(caller), caller).toContain(id);
    expect(await listed('other')).not.toContain(id);
    // `?owner=` one's own name: only one's own.
    expect(((await f.call('GET', '/api/v1/instances?owner=bob', tokens.viewer)).json() as { instances: unknown[] }).instances).toEqual([]);
  });

  it('tells each caller their access, and shows a viewer the config without its secrets; a user, the owner and an admin see it all', async () => {
    const config = testConfig({
      app: 'jupyter', image: 'wharf/jupyter:local', project: 'Team', env: { API_KEY: 'k-s3cret' }, files: [{ path: '/etc/app.ini', content: 'password=f-s3cret', mode: '0600' }],
      initScript: 'echo i-s3cret',
    });
    const id = (await f.t.store.instances.create({ owner: ids.owner, config, spec: testSpec() })).id;
    await f.t.store.shares.set(id, ids.viewer, 'viewer', ids.owner);
    await f.t.store.shares.set(id, ids.user, 'user', ids.owner);
    const seen = async (caller: Exclude<Caller, 'anonymous'>) => {
      const one = (await f.call('GET', `/api/v1/instances/${id}`, tokens[caller])).json();
      const listed = ((await f.call('GET', '/api/v1/instances', tokens[caller])).json().instances as { id: string }[]).find((i) => i.id === id);
      expect(listed, caller).toEqual(one);
      // What the dashboard shows them: Open for a user, Stop, Clone and Remove for the owner.
      expect(one.access, caller).toBe({ viewer: 'viewer', projectViewer: 'viewer', user: 'user', projectUser: 'user' }[caller as string] ?? 'owner');
      return JSON.stringify(one.config);
    };
    for (const caller of ['viewer', 'projectViewer'] as const) {
      const text = await seen(caller);
      expect(text, caller).not.toMatch(/s3cret/);
      expect(text, caller).toContain('"API_KEY":""');
      expect(text, caller).toContain('"/etc/app.ini"');
    }
    for (const caller of ['user', 'projectUser', 'owner', 'admin'] as const) {
      for (const secret of ['k-s3cret', 'f-s3cret', 'i-s3cret']) expect(await seen(caller), caller).toContain(secret);
    }
  });

  it('answers every /api/ endpoint but sign-in\'s and the machines\' own 401 without credentials', async () => {
    // Checked by something other than a user's token: a password, a gateway's or agent's key, or nothing (the CA, sign-out).
    const OPEN = new Set(['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'GET /api/v1/gateways/routes', 'POST /api/v1/gateways/stats', 'POST /api/v1/gateways/links']);
    const refused: string[] = [];
    for (const endpoint of f.control.endpoints.filter((e) => e.includes(' /api/') && !OPEN.has(e) && !e.includes(' /api/v1/agent/'))) {
      const [method, path] = endpoint.split(' ');
      const res = await f.call(method as 'GET', path.replace(/:[a-z]+/g, 'x'));
      if (res.statusCode !== 401) refused.push(`${endpoint}: ${res.statusCode}`);
    }
    expect(refused).toEqual([]);
  });
});

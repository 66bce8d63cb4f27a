import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './testing.ts';

/*
 * Who may call each API route that is not about one instance (those are in
 * instance-access.test.ts) nor for machines (agents, gateways, sign-in): nobody, a user, a user
 * and an owner of project Team, an admin. Each cell is asserted; a new route without a row
 * fails the test, as does a row of a route that is gone.
 */

type Caller = 'anonymous' | 'user' | 'projectUser' | 'projectOwner' | 'admin';
const CALLERS: Caller[] = ['anonymous', 'user', 'projectUser', 'projectOwner', 'admin'];

interface Row {
  endpoint: string;
  expect: Record<Caller, number>;
  /** The body; a function gets a fresh one per caller (names that must be new). */
  body?: unknown | ((n: number) => unknown);
  /** Sets the stage for one call and gives the path's parameters. */
  prepare?: (n: number) => Promise<Record<string, string>>;
}

const ANYONE = (ok: number) => ({ anonymous: 401, user: ok, projectUser: ok, projectOwner: ok, admin: ok });
const ADMIN = (ok: number) => ({ anonymous: 401, user: 403, projectUser: 403, projectOwner: 403, admin: ok });
// A project's members: 404 to others (it is not theirs to know), 403 to a member who is not an owner.
const PROJECT_OWNER = (ok: number) => ({ anonymous: 401, user: 404, projectUser: 403, projectOwner: ok, admin: ok });

describe('API routes × callers (in process)', () => {
  let f: ApiFixture;
  const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>;
  let rootId = '';

  beforeAll(async () => {
    f = await apiFixture();
    const made = await Promise.all([f.user('root', { admin: true }), f.user('uma'), f.user('pam'), f.user('pat')]);
    [tokens.admin, tokens.user, tokens.projectUser, tokens.projectOwner] = made.map((m) => m.token);
    rootId = made[0].id;
    await f.t.store.projects.add('Team');
    await f.t.store.projects.setMember('Team', made[2].id, 'user', rootId);
    await f.t.store.projects.setMember('Team', made[3].id, 'owner', rootId);
  });
  afterAll(() => f.close());

  /** A user of no consequence, made per call: the target of changes to users. */
  const victim = async (n: number) => ({ name: (await f.user(`vic-${n}`)).id && `vic-${n}` });
  const agent = async (n: number) => ({ id: (await f.agent(tokens.admin, `host-${n}`, ['default'])).id });

  const ROWS: Row[] = [
    { endpoint: 'GET /api/v1/me', expect: ANYONE(200) },
    { endpoint: 'GET /api/v1/auth/me', expect: ANYONE(200) },
    // A user lists themselves; an admin everyone.
    { endpoint: 'GET /api/v1/users', expect: ANYONE(200) },
    { endpoint: 'POST /api/v1/users', expect: ADMIN(201), body: (n: number) => ({ name: `new-${n}`, password: 'a-long-password' }) },
    // Another's password: an admin's to set (one's own needs the current one: users.test.ts).
    { endpoint: 'POST /api/v1/users/:name/password', expect: ADMIN(204), body: { password: 'another-password' }, prepare: victim },
    { endpoint: 'PATCH /api/v1/users/:name', expect: ADMIN(200), body: { admin: false }, prepare: victim },
    { endpoint: 'DELETE /api/v1/users/:name', expect: ADMIN(204), prepare: victim },
    { endpoint: 'POST /api/v1/tokens', expect: ANYONE(201), body: { name: 'laptop' } },
    { endpoint: 'GET /api/v1/tokens', expect: ANYONE(200) },
    // The admin's token: nobody else's to revoke (and not theirs to know of).
    { endpoint: 'DELETE /api/v1/tokens/:id', expect: { ...ADMIN(204), user: 404, projectUser: 404, projectOwner: 404 }, prepare: async () => ({ id: (await f.call('POST', '/api/v1/tokens', tokens.admin, { name: 'spare' })).json().id as string }) },
    // The whole log is an admin's; a project's owners read their project's with ?project= (audit.test.ts).
    { endpoint: 'GET /api/v1/audit', expect: ADMIN(200) },
    { endpoint: 'GET /api/v1/projects', expect: ANYONE(200) },
    { endpoint: 'POST /api/v1/projects', expect: ADMIN(201), body: (n: number) => ({ name: `P${n}` }) },
    { endpoint: 'GET /api/v1/projects/:name/members', expect: PROJECT_OWNER(200), prepare: async () => ({ name: 'Team' }) },
    { endpoint: 'POST /api/v1/projects/:name/members', expect: PROJECT_OWNER(200), body: (n: number) => ({ user: `vic-${n}`, role: 'viewer' }), prepare: async (n) => ({ ...(await victim(n)), name: 'Team' }) },
    {
      endpoint: 'DELETE /api/v1/projects/:name/members/:user', expect: PROJECT_OWNER(204),
      prepare: async (n) => {
        const user = await f.user(`mem-${n}`);
        await f.t.store.projects.setMember('Team', user.id, 'viewer', rootId);
        return { name: 'Team', user: `mem-${n}` };
      },
    },
    { endpoint: 'POST /api/v1/gateways', expect: ADMIN(201), body: (n: number) => ({ name: `edge-${n}` }) },
    { endpoint: 'GET /api/v1/gateways', expect: ADMIN(200) },
    { endpoint: 'POST /api/v1/agents', expect: ADMIN(201), body: (n: number) => ({ name: `gpu-${n}`, queues: ['gpu'] }) },
    { endpoint: 'GET /api/v1/agents', expect: ADMIN(200) },
    { endpoint: 'POST /api/v1/agents/:id/drain', expect: ADMIN(200), prepare: agent },
    { endpoint: 'POST /api/v1/agents/:id/resume', expect: ADMIN(200), prepare: agent },
    { endpoint: 'POST /api/v1/configs/validate', expect: ANYONE(200), body: { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } } },
    // Into project Team: its users and owners, and admins (a plain user is told why, naming the field).
    { endpoint: 'POST /api/v1/instances', expect: { ...ANYONE(201), user: 400 }, body: { app: 'container', image: 'wharf/busybox:local', project: 'Team', routing: { mode: 'https', port: 8080 } } },
    { endpoint: 'GET /api/v1/instances', expect: ANYONE(200) },
    { endpoint: 'GET /api/v1/keys', expect: ADMIN(200) },
    { endpoint: 'POST /api/v1/keys/rotate', expect: ADMIN(201) },
    // No local CA in this control: the signed-in are told so.
    { endpoint: 'GET /api/v1/ca.pem', expect: ANYONE(404) },
  ];

  /** What a machine calls with a key of its own, what signs in, and each instance's routes (instance-access.test.ts). */
  const elsewhere = (e: string) => e.includes(' /api/v1/agent/') || e.includes(' /api/v1/instances/:id')
    || ['GET /api/v1/gateways/routes', 'POST /api/v1/gateways/stats', 'POST /api/v1/gateways/links', 'POST /api/v1/auth/login', 'POST /api/v1/auth/logout'].includes(e);

  it('has a row for every API route that is not about one instance nor for machines', () => {
    const routes = f.control.endpoints.filter((e) => e.includes(' /api/') && !elsewhere(e));
    expect(routes.filter((e) => !ROWS.some((r) => r.endpoint === e)), 'routes without a row here').toEqual([]);
    expect(ROWS.filter((r) => !routes.includes(r.endpoint)).map((r) => r.endpoint), 'rows of routes that do not exist').toEqual([]);
  });

  let n = 0;
  it.each(ROWS)('$endpoint', async (row) => {
    const answers = {} as Record<Caller, number>;
    for (const caller of CALLERS) {
      const k = ++n;
      const params = (await row.prepare?.(k)) ?? {};
      const [method, path] = row.endpoint.split(' ');
      const url = path.replace(/:([a-z]+)/g, (_, p: string) => encodeURIComponent(params[p]));
      const body = typeof row.body === 'function' ? (row.body as (n: number) => unknown)(k) : row.body;
      const res = await f.call(method as 'GET', url, caller === 'anonymous' ? undefined : tokens[caller], body);
      answers[caller] = res.statusCode;
      if (res.statusCode >= 400) expect(res.body, `${caller}: ${res.body}`).not.toContain('    at ');
    }
    expect(answers).toEqual(row.expect);
  });
});

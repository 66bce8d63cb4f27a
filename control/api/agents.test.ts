import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_GONE, AGENT_OFFLINE, AgentSweeper } from '../agents/sweeper.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { ControlApp } from '../server.ts';
import { testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

const LEASE_MS = 30_000;
const GRACE_MS = 60_000;

describe('agents API (in process, injected clock)', () => {
  let t: TempStore;
  let control: ControlApp;
  let routes: RouteLog;
  let sweeper: AgentSweeper;
  let adminToken: string;
  let ownerId: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: LEASE_MS, tcpPorts: [21000, 21009], pollMs: 10 } });
    ({ t, routes, control } = f);
    sweeper = new AgentSweeper({ store: t.store, routes, clock: t.clock.read, graceMs: GRACE_MS });
    ({ id: ownerId, token: adminToken } = await f.user('admin', { admin: true }));
  });
  afterEach(async () => {
    await sweeper.stop();
    await f.close();
  });

  const admin = (method: 'GET' | 'POST', url: string, payload?: object) => f.call(method, url, adminToken, payload);

  async function addAgent(name: string, queues: string[]) {
    const res = await admin('POST', '/api/v1/agents', { name, queues });
    expect(res.statusCode).toBe(201);
    const a = res.json() as { id: string; key: string; secret: string };
    const auth = `Bearer ${a.key}:${a.secret}`;
    return {
      id: a.id,
      call: (method: 'POST' | 'DELETE', path: string, payload?: object, headers: Record<string, string> = {}) =>
        control.app.inject({ method, url: `/api/v1/agent/${path}`, payload, headers: { authorization: auth, ...headers } }),
    };
  }

  const launch = async (queue: string, extra: Record<string, unknown> = {}) =>
    (await t.store.instances.create({ owner: ownerId, config: testConfig({ queue }), spec: { ...testSpec(), ...extra } })).id;

  it('creates agents (admin only) and refuses wrong agent credentials', async () => {
    const a = await addAgent('a1', ['default']);
    expect((await a.call('POST', 'heartbeat', { resources: { cpus: 4 } })).statusCode).toBe(200);
    const bad = await control.app.inject({ method: 'POST', url: '/api/v1/agent/heartbeat', headers: { authorization: `Bearer ${adminToken}` } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('CTL_AGENT_KEY');
    const list = (await admin('GET', '/api/v1/agents')).json().agents;
    expect(list).toMatchObject([{ id: a.id, name: 'a1', state: 'online', resources: { cpus: 4 }, queues: ['default'] }]);
    expect(JSON.stringify(list)).not.toContain('secret');
  });

  it('leases FIFO across two queues in the agent\'s order, then answers 204', async () => {
    const b1 = await launch('b');
    const a1 = await launch('a');
    const b2 = await launch('b');
    const a2 = await launch('a');
    const agent = await addAgent('a1', ['a', 'b']);
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await agent.call('POST', 'lease?wait=0');
      expect(res.statusCode).toBe(200);
      expect(res.json().spec.image).toBe('wharf/busybox:local');
      got.push(res.json().instance);
    }
    expect(got).toEqual([a1, a2, b1, b2]);
    expect((await t.store.instances.get(a1))!.status).toBe('starting');
    expect((await agent.call('POST', 'lease?wait=50')).statusCode).toBe(204);
  });

  it('refuses a report of an earlier lease by its fencing epoch, and a malformed epoch with 400', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    expect((await agent.call('POST', 'lease?wait=0')).json()).toMatchObject({ instance: id, attempts: 1 });
    t.clock.advance(LEASE_MS);
    await sweeper.sweep();
    expect((await agent.call('POST', 'lease?wait=0')).json()).toMatchObject({ instance: id, attempts: 2 });
    const stale = await agent.call('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 1234 }, { 'x-wharf-lease-epoch': '1' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('CTL_LEASE_EXPIRED');
    expect((await agent.call('POST', `instances/${id}/status`, { status: 'failed', reason: 'late' }, { 'x-wharf-lease-epoch': '1' })).statusCode).toBe(409);
    const malformed = await agent.call('POST', `instances/${id}/status`, { status: 'active' }, { 'x-wharf-lease-epoch': 'one' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toMatch(/x-wharf-lease-epoch/);
    const current = await agent.call('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 1234 }, { 'x-wharf-lease-epoch': '2' });
    expect(current.statusCode).toBe(200);
    expect((await t.store.instances.get(id))!.status).toBe('active');
  });

  it('re-queues an expired lease exactly once, and refuses the old holder\'s report with 409', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    expect((await agent.call('POST', 'lease?wait=0')).json().instance).toBe(id);
    t.clock.advance(LEASE_MS - 1);
    expect((await sweeper.sweep()).expired).toHaveLength(0);
    t.clock.advance(1);
    const first = await sweeper.sweep();
    const second = await sweeper.sweep();
    expect(first.expired.map((j) => j.instance)).toEqual([id]);
    expect(second.expired).toEqual([]);
    expect((await t.store.instances.get(id))!.status).toBe('queued');
    expect((await t.store.jobs.depths())).toEqual([{ queue: 'default', queued: 1, leased: 0 }]);

    const late = await agent.call('POST', `instances/${id}/status`, { status: 'active' });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.code).toBe('CTL_LEASE_EXPIRED');
    const lateEndpoint = await agent.call('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 1234 });
    expect(lateEndpoint.json().error.code).toBe('CTL_LEASE_EXPIRED');

    // Another agent takes it; the first one's reports stay refused.
    const other = await addAgent('a2', ['default']);
    expect((await other.call('POST', 'lease?wait=0')).json()).toMatchObject({ instance: id, attempts: 2 });
    expect((await agent.call('POST', `instances/${id}/status`, { status: 'active' })).statusCode).toBe(409);
  });

  it('renews leases on heartbeat, so a live agent keeps its job', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'lease?wait=0');
    for (let i = 0; i < 3; i++) {
      t.clock.advance(LEASE_MS - 1000);
      expect((await agent.call('POST', 'heartbeat', {})).statusCode).toBe(200);
      expect((await sweeper.sweep()).expired).toEqual([]);
    }
    expect((await agent.call('POST', `instances/${id}/status`, { status: 'active' })).json().status).toBe('active');
  });

  it('turns an endpoint into a route, pins a stable TCP port, and drops the route when stopped', async () => {
    const web = await launch('default');
    const db = await launch('default', { ports: [{ port: 5432, routing: 'tcp' }], readiness: { kind: 'tcp', port: 5432 } });
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'lease?wait=0');
    await agent.call('POST', 'lease?wait=0');

    const r1 = await agent.call('POST', `instances/${web}/endpoint`, { host: '127.0.0.1', port: 32768 });
    expect(r1.statusCode).toBe(200);
    expect(r1.json()).toMatchObject({ status: 'active', route: { id: web, kind: 'http', target: 'http://127.0.0.1:32768', status: 'active' } });
    expect(routes.get(web)).toMatchObject({ kind: 'http', instance: web });

    const r2 = await agent.call('POST', `instances/${db}/endpoint`, { host: '127.0.0.1', port: 32769 });
    const port = r2.json().route.port as number;
    expect(r2.json().route).toMatchObject({ kind: 'tcp', target: 'tcp://127.0.0.1:32769' });
    expect(port).toBeGreaterThanOrEqual(21000);
    expect(port).toBeLessThanOrEqual(21009);
    // A new report (agent restarted, new host port) keeps the pinned port.
    const r3 = await agent.call('POST', `instances/${db}/endpoint`, { host: '127.0.0.1', port: 40000 });
    expect(r3.json().route).toMatchObject({ port, target: 'tcp://127.0.0.1:40000' });

    // Console lines need the holder too.
    expect((await agent.call('POST', `instances/${web}/console`, { lines: [{ text: 'ready' }] })).json()).toEqual({ seq: 1 });

    // Stop: stopping keeps the route; the agent's heartbeat gets the stop command; stopped drops it.
    await t.store.instances.updateStatus(web, 'stopping', 'user stop');
    expect((await agent.call('POST', 'heartbeat', {})).json().stop).toEqual([web]);
    expect(routes.get(web)).toBeDefined();
    expect((await agent.call('POST', `instances/${web}/status`, { status: 'stopped' })).json().status).toBe('stopped');
    expect(routes.get(web)).toBeUndefined();

    // A route whose instance finished by another path is dropped by the sweeper.
    await t.store.instances.updateStatus(db, 'failed', 'exit code 1');
    expect((await sweeper.sweep()).dropped).toEqual([db]);
    expect(routes.size).toBe(0);

    // An illegal transition is refused.
    expect((await agent.call('POST', `instances/${web}/status`, { status: 'active' })).statusCode).toBe(409);
  });

  it('shows a silent agent\'s instances "agent offline", then fails them', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'heartbeat', {});
    await agent.call('POST', 'lease?wait=0');
    await agent.call('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 32768 });
    expect(routes.get(id)).toBeDefined();

    t.clock.advance(GRACE_MS - 1);
    expect((await sweeper.sweep()).offline).toEqual([]);
    t.clock.advance(1);
    expect((await sweeper.sweep()).offline).toEqual([agent.id]);
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'active', statusReason: AGENT_OFFLINE });
    expect((await t.store.agents.get(agent.id))!.state).toBe('offline');

    // Back in time: the heartbeat clears the mark.
    await agent.call('POST', 'heartbeat', {});
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'active', statusReason: null });

    t.clock.advance(GRACE_MS);
    await sweeper.sweep();
    expect((await t.store.instances.get(id))!.statusReason).toBe(AGENT_OFFLINE);
    t.clock.advance(GRACE_MS);
    const gone = await sweeper.sweep();
    expect(gone.failed).toEqual([id]);
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'failed', statusReason: AGENT_GONE });
    expect(routes.get(id)).toBeUndefined();
    expect((await sweeper.sweep()).failed).toEqual([]);
  });

  it('after an outage of control or its store, gives every agent a fresh grace instead of failing its apps', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'heartbeat', {});
    await agent.call('POST', 'lease?wait=0');
    await agent.call('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 32768 });
    const watching = new AgentSweeper({ store: t.store, routes, clock: t.clock.read, graceMs: GRACE_MS, outageMs: 15_000 });
    await watching.sweep();
    // No pass for three graces (control was away, or every pass failed on its store): nothing is
    // called offline or gone at the first pass after it.
    t.clock.advance(3 * GRACE_MS);
    expect(await watching.sweep()).toMatchObject({ offline: [], failed: [] });
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'active', statusReason: null });
    // A control started after the outage counts silence from its start, too.
    const restarted = new AgentSweeper({ store: t.store, routes, clock: t.clock.read, graceMs: GRACE_MS });
    expect(await restarted.sweep()).toMatchObject({ offline: [], failed: [] });
    // From then on, the grace runs as usual (passes every 5 s, no gap).
    for (let i = 0; i < GRACE_MS / 5_000 - 1; i++) {
      t.clock.advance(5_000);
      expect((await watching.sweep()).offline).toEqual([]);
    }
    t.clock.advance(5_000);
    expect((await watching.sweep()).offline).toEqual([agent.id]);
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'active', statusReason: AGENT_OFFLINE });
    expect((await restarted.sweep()).offline).toEqual([]); // already marked by the other
  });

  it('sweeps only on the control that leads, and a control taking the lead gives agents a fresh grace', async () => {
    const id = await launch('default');
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'heartbeat', {});
    await agent.call('POST', 'lease?wait=0');
    let leading = false;
    const follower = new AgentSweeper({ store: t.store, routes, clock: t.clock.read, graceMs: GRACE_MS, outageMs: 15_000, lead: async () => leading });
    t.clock.advance(3 * GRACE_MS);
    // Not leading: the expired lease and the silent agent are another control's to handle.
    expect(await follower.sweep()).toEqual({ expired: [], offline: [], failed: [], dropped: [], noticed: [] });
    expect(await t.store.instances.get(id)).toMatchObject({ status: 'starting' });
    // Leading from now on: the lease runs out at once, the agent gets a fresh grace.
    leading = true;
    const first = await follower.sweep();
    expect(first.expired.map((j) => j.instance)).toEqual([id]);
    expect(first).toMatchObject({ offline: [], failed: [] });
    const offline: string[] = [];
    for (let i = 0; i < GRACE_MS / 5_000; i++) {
      t.clock.advance(5_000); // passes every 5 s: no gap
      offline.push(...(await follower.sweep()).offline);
    }
    expect(offline).toEqual([agent.id]);
  });

  it('drains an agent: no new jobs, its apps get stop commands', async () => {
    const running = await launch('default');
    const agent = await addAgent('a1', ['default']);
    await agent.call('POST', 'lease?wait=0');
    await agent.call('POST', `instances/${running}/endpoint`, { host: '127.0.0.1', port: 32768 });
    await launch('default');
    const drained = await admin('POST', `/api/v1/agents/${agent.id}/drain`);
    expect(drained.json()).toMatchObject({ drain: true, apps: [{ id: running, status: 'stopping' }] });
    expect((await agent.call('POST', 'lease?wait=0')).statusCode).toBe(204);
    expect((await agent.call('POST', 'heartbeat', {})).json()).toMatchObject({ drain: true, stop: [running] });

    // Resumed, it takes the queued job again.
    expect((await admin('POST', `/api/v1/agents/${agent.id}/resume`)).json()).toMatchObject({ drain: false });
    expect((await agent.call('POST', 'heartbeat', {})).json()).toMatchObject({ drain: false });
    expect((await agent.call('POST', 'lease?wait=0')).statusCode).toBe(200);
    expect((await admin('POST', '/api/v1/agents/a-nope/resume')).statusCode).toBe(404);
  });
});

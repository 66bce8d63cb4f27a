import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../api/testing.ts';
import { testConfig, testSpec } from '../store/testing.ts';
import { restoreRoutes } from './endpoint-routes.ts';
import { AgentSweeper } from './sweeper.ts';

const LEASE_MS = 30_000;

/*
 * An instance that an agent is setting up is on the route stream as a starting route (no
 * target), so gateways answer its address "setting up" instead of "no app here"; the endpoint
 * report replaces it, and it goes when the instance fails, stops or goes back to the queue.
 */
describe('starting routes (in process, injected clock)', () => {
  let f: ApiFixture;
  let sweeper: AgentSweeper;
  let owner: string;
  let agent: (method: 'POST', path: string, payload?: object) => Promise<{ statusCode: number; json(): any }>;

  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: LEASE_MS, tcpPorts: [21010, 21019], pollMs: 10 } });
    sweeper = new AgentSweeper({ store: f.t.store, routes: f.routes, clock: f.t.clock.read, graceMs: 60_000 });
    const admin = await f.user('admin', { admin: true });
    owner = admin.id;
    const { auth } = await f.agent(admin.token, 'a1', ['default']);
    agent = (method, path, payload) => f.control.app.inject({ method, url: `/api/v1/agent/${path}`, payload, headers: { authorization: auth } });
  });
  afterEach(async () => {
    await sweeper.stop();
    await f.close();
  });

  const launch = async () => (await f.t.store.instances.create({ owner, config: testConfig(), spec: testSpec() })).id;
  const lease = async (id: string) => expect((await agent('POST', 'lease?wait=0')).json().instance).toBe(id);

  it('streams a starting route when the job is leased, replaced by the routed one at the endpoint report', async () => {
    const id = await launch();
    const seen: unknown[] = [];
    f.routes.subscribe((delta) => seen.push(...delta.upsert));
    expect(f.routes.get(id)).toBeUndefined(); // queued: no agent has it yet
    await lease(id);
    expect(f.routes.get(id)).toEqual({ id, kind: 'http', instance: id, public: false, status: 'starting', headers: {} });
    // The sweep (which drops routes without an endpoint) keeps it while the instance starts.
    expect((await sweeper.sweep()).dropped).toEqual([]);
    expect(f.routes.get(id)?.status).toBe('starting');
    // Control restarting meanwhile streams it again from its store.
    f.routes.replace([]);
    await restoreRoutes(f.t.store, f.routes);
    expect(f.routes.get(id)?.status).toBe('starting');

    expect((await agent('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: 32768 })).statusCode).toBe(200);
    expect(f.routes.get(id)).toMatchObject({ status: 'active', target: 'http://127.0.0.1:32768' });
    expect(seen.map((r) => (r as { status: string }).status)).toEqual(['starting', 'starting', 'active']);
  });

  it('drops the starting route when the start fails, or it is stopped before it was ready', async () => {
    const failing = await launch();
    const stopped = await launch();
    await lease(failing);
    await lease(stopped);
    expect(f.routes.size).toBe(2);
    await agent('POST', `instances/${failing}/status`, { status: 'failed', reason: 'exit code 1' });
    expect(f.routes.get(failing)).toBeUndefined();
    // A user's stop makes it `stopping` with no endpoint: no app will come, the sweep drops it.
    await f.t.store.instances.updateStatus(stopped, 'stopping', 'user stop');
    expect((await sweeper.sweep()).dropped).toEqual([stopped]);
    expect(f.routes.size).toBe(0);
  });

  it('drops it when the lease expires and the instance goes back to the queue', async () => {
    const id = await launch();
    await lease(id);
    f.t.clock.advance(LEASE_MS);
    const swept = await sweeper.sweep();
    expect(swept.expired.map((j) => j.instance)).toEqual([id]);
    expect((await f.t.store.instances.get(id))!.status).toBe('queued');
    expect(swept.dropped).toEqual([id]);
    expect(f.routes.get(id)).toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from '../test/support/postgres.ts';
import { routeOf } from './agents/endpoint-routes.ts';
import { JobSignal } from './agents/job-signal.ts';
import { followOtherControls, reloadSessions } from './follow-other-controls.ts';
import { AppSessions } from './keys/app-sessions.ts';
import { ConsoleSessions } from './keys/console-sessions.ts';
import { signOut } from './keys/sign-out.ts';
import { SharedRouteLog } from './routes/shared-route-log.ts';
import { openPostgresStore } from './store/postgres/open.ts';
import type { Store } from './store/store.ts';
import { ManualClock, TEST_SCRYPT_COST, testConfig, testSpec } from './store/testing.ts';
import { until } from '../test/support/tcp.ts';

interface Control {
  store: Store;
  routes: SharedRouteLog;
  appSessions: AppSessions;
  consoleSessions: ConsoleSessions;
  jobs: JobSignal;
  stop: () => void;
}

// Two controls' in-memory state on one real PostgreSQL: a route or a revocation made through
// one reaches the other's route log (what its gateways follow) through the change feed.
describe('controls on one PostgreSQL follow each other', () => {
  let postgres: Postgres;
  let controls: Control[];
  const clock = new ManualClock(Date.now());
  const key = randomBytes(32);
  const silent = pino({ level: 'silent' });

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  beforeEach(async () => {
    const url = await postgres.createDatabase();
    controls = [];
    for (let i = 0; i < 2; i++) {
      const store = await openPostgresStore({ url, clock: clock.read, scryptCost: TEST_SCRYPT_COST });
      const routes = await SharedRouteLog.open(store.routeTable, store.changes, silent);
      const appSessions = new AppSessions(store, key);
      await appSessions.load();
      const consoleSessions = new ConsoleSessions(key, clock.read);
      const jobs = new JobSignal(store.changes);
      // No periodic full read within a test: what arrives, arrives by the feed.
      const stop = followOtherControls({ store, routes, appSessions, consoleSessions, jobs, log: silent, resyncEveryMs: 600_000 });
      controls.push({ store, routes, appSessions, consoleSessions, jobs, stop });
    }
  });
  afterEach(async () => {
    for (const c of controls) {
      c.stop();
      await c.store.close();
    }
  });

  it('a route made, changed and removed through one is made, changed and removed in the other\'s log', async () => {
    const [a, b] = controls;
    const owner = await a.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'host', queues: ['default'] });
    const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
    await a.store.jobs.lease(agent.id, ['default'], 30_000, clock.now);
    // As control's agent API does: the store first, then its own route log.
    const reported = await a.store.instances.setEndpoint(instance.id, { host: '10.0.0.9', port: 8080, routing: 'https', containerPort: 8080 }, { agent: agent.id });
    a.routes.upsert(routeOf(reported)!);
    await until('b has the route', () => b.routes.get(instance.id)?.target === 'http://10.0.0.9:8080', 10_000);
    const moved = await a.store.instances.setEndpoint(instance.id, { host: '10.0.0.10', port: 8080, routing: 'https', containerPort: 8080 }, { agent: agent.id });
    a.routes.upsert(routeOf(moved)!);
    await until('b has the new target', () => b.routes.get(instance.id)?.target === 'http://10.0.0.10:8080', 10_000);
    await a.store.instances.updateStatus(instance.id, 'stopped', null, { agent: agent.id });
    a.routes.remove(instance.id);
    await until('b dropped the route', () => b.routes.get(instance.id) === undefined, 10_000);
    // Applying b's change did not echo back to a as a change of its own.
    expect(a.routes.get(instance.id)).toBeUndefined();
  });

  it('numbers routes in the store: version N is the same table on both, so a gateway resumes on either', async () => {
    const [a, b] = controls;
    const owner = await a.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'host', queues: ['default'] });
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
      await a.store.jobs.lease(agent.id, ['default'], 30_000, clock.now);
      const reported = await a.store.instances.setEndpoint(instance.id, { host: `10.0.0.${i + 1}`, port: 8080, routing: 'https', containerPort: 8080 }, { agent: agent.id });
      // Through either control: both write to the one table.
      (i % 2 ? b : a).routes.upsert(routeOf(reported)!);
      made.push(instance.id);
    }
    await until('both logs have all three', () => made.every((id) => a.routes.get(id) && b.routes.get(id)), 10_000);
    await until('both at one version', () => a.routes.version === b.routes.version, 10_000);
    expect(b.routes.epoch).toBe(a.routes.epoch);
    expect(b.routes.snapshot()).toEqual(a.routes.snapshot());
    // A gateway at a's first version gets from b the very lines a sent after it.
    const first = a.routes.version - 2;
    expect(b.routes.since(first)?.map((d) => d.line)).toEqual(a.routes.since(first)?.map((d) => d.line));
  });

  it('never puts back an older route over a change of its own made while it read the other control\'s', async () => {
    const [a, b] = controls;
    const owner = await a.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'host', queues: ['default'] });
    const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
    await a.store.jobs.lease(agent.id, ['default'], 30_000, clock.now);
    const endpoint = (host: string) => ({ host, port: 8080, routing: 'https', containerPort: 8080 });
    // While b reads the instance a announced, b's own agent API moves it on (store, then its log).
    const read = b.store.instances.get.bind(b.store.instances);
    let interleave: (() => Promise<void>) | undefined;
    b.store.instances.get = async (id, options) => {
      const found = await read(id, options);
      const step = interleave;
      interleave = undefined;
      await step?.();
      return found;
    };
    interleave = async () => {
      const moved = await b.store.instances.setEndpoint(instance.id, endpoint('10.0.0.3'), { agent: agent.id });
      b.routes.upsert(routeOf(moved)!);
    };
    const reported = await a.store.instances.setEndpoint(instance.id, endpoint('10.0.0.2'), { agent: agent.id });
    a.routes.upsert(routeOf(reported)!);
    // b ends with the newest, its own, whatever order the reads and writes took; a follows it.
    await until('a has the newest target', () => a.routes.get(instance.id)?.target === 'http://10.0.0.3:8080', 10_000);
    await sleep(300);
    expect(b.routes.get(instance.id)?.target).toBe('http://10.0.0.3:8080');
  });

  it('a job queued through one wakes the leases waiting on the other', async () => {
    const [a, b] = controls;
    const waiting = b.jobs.wait(60_000).then(() => 'woken');
    a.jobs.queued();
    expect(await Promise.race([waiting, sleep(10_000).then(() => 'slept')])).toBe('woken');
  });

  it('a route lost on the way comes back with the next full read', async () => {
    const [a, b] = controls;
    b.stop();
    b.stop = followOtherControls({ ...b, log: silent, resyncEveryMs: 300 });
    const owner = await a.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'host', queues: ['default'] });
    const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
    await a.store.jobs.lease(agent.id, ['default'], 30_000, clock.now);
    // Stored, but never announced (as if the notice was lost): the periodic read finds it.
    await a.store.instances.setEndpoint(instance.id, { host: '10.0.0.9', port: 8080, routing: 'https', containerPort: 8080 }, { agent: agent.id });
    await until('b has the route', () => b.routes.get(instance.id)?.target === 'http://10.0.0.9:8080', 5_000);
  });

  it('a route whose notice was lost arrives with the poll of changed instances, within seconds', async () => {
    const [a, b] = controls;
    b.stop();
    // No full read within the test: only the poll of the instances' change numbers can bring it.
    const following = followOtherControls({ ...b, log: silent, resyncEveryMs: 600_000, pollEveryMs: 200 });
    b.stop = following;
    await following.ready;
    const owner = await a.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'host', queues: ['default'] });
    const before = (await a.store.instances.changedSince(Infinity)).seq;
    const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
    await a.store.jobs.lease(agent.id, ['default'], 30_000, clock.now);
    const changed = await a.store.instances.changedSince(before);
    expect(changed.ids).toEqual([instance.id]); // created, then started: one instance, its latest change
    expect(changed.seq).toBeGreaterThan(before);
    expect(await a.store.instances.changedSince(changed.seq)).toEqual({ ids: [], seq: changed.seq });
    // Stored, never announced: b's poll finds it.
    await a.store.instances.setEndpoint(instance.id, { host: '10.0.0.7', port: 8080, routing: 'https', containerPort: 8080 }, { agent: agent.id });
    await until('b has the route', () => b.routes.get(instance.id)?.target === 'http://10.0.0.7:8080', 3_000);
  });

  it('a revocation made through one reaches the other\'s gateways, and ends the dashboard sessions it covers', async () => {
    const [a, b] = controls;
    const lines: string[] = [];
    b.appSessions.subscribe((line) => lines.push(line));
    const cookie = b.consoleSessions.mint('u-bob').value;
    expect(b.consoleSessions.verify(cookie)).toBeDefined();
    clock.advance(1_000);
    await a.appSessions.revoke('u-bob', clock.now);
    await until('b tells its gateways', () => lines.some((l) => l.includes('u-bob')), 10_000);
    expect(b.appSessions.revocations()).toEqual([{ user: 'u-bob', instance: '*', before: expect.any(Number) }]);
    await until('b refuses the older dashboard session', () => b.consoleSessions.verify(cookie) === undefined, 10_000);
  });

  it('a dashboard sign-out on one is refused by the other, and by a control started later', async () => {
    const [a, b] = controls;
    const minted = a.consoleSessions.mint('u-carol');
    const other = b.consoleSessions.mint('u-carol').value;
    expect(b.consoleSessions.verify(minted.value)).toBeDefined();
    await signOut(a.store, a.consoleSessions, minted.session);
    expect(a.consoleSessions.verify(minted.value)).toBeUndefined();
    await until('b refuses the signed-out session', () => b.consoleSessions.verify(minted.value) === undefined, 10_000);
    // Only that session: the user's other one holds.
    expect(b.consoleSessions.verify(other)).toBeDefined();
    const later = new ConsoleSessions(key, clock.read);
    await reloadSessions(b.store, b.appSessions, later, clock.now);
    expect(later.verify(minted.value)).toBeUndefined();
    expect(later.verify(other)).toBeDefined();
  });
});

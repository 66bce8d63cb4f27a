import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyStore, NOT_COPIED, rowCounts, TABLES } from './copy.ts';
import type { Store } from './store.ts';
import { storeBackends } from './store-backends.ts';
import { testConfig, testSpec, type TestStore } from './testing.ts';

const backends = storeBackends();
const [sqlite, postgres] = backends;

/** Everything a store can hold, through the store's own interface; returns the clear credentials. */
async function populate(store: Store, now: () => number) {
  const ada = await store.users.add({ name: 'ada', password: 'pw-ada', admin: true });
  const bob = await store.users.add({ name: 'bob', password: 'pw-bob' });
  const gone = await store.users.add({ name: 'gone', password: 'x' });
  const { token } = await store.apiTokens.create(bob.id, 'cli');
  const { apiToken: revoked } = await store.apiTokens.create(bob.id, 'old');
  await store.apiTokens.revoke(revoked.id);
  const { agent, secret } = await store.agents.add({ name: 'host-1', queues: ['gpu', 'default'] });
  await store.agents.heartbeat(agent.id, { resources: { cpus: 16 } });
  const { key: gatewayKey } = await store.gateways.add('edge');
  const launch = (queue = 'default') => store.instances.create({ owner: bob.id, config: testConfig({ queue, tags: ['t1'] }), spec: testSpec() });
  const running = await launch();
  const queued = await launch('gpu');
  await launch('default');
  const job = await store.jobs.lease(agent.id, ['default'], 30_000, now()); // the oldest default job: `running`
  await store.instances.updateStatus(running.id, 'active', null, { agent: agent.id });
  await store.instances.setEndpoint(running.id, { host: '10.0.0.2', port: 8080 }, { agent: agent.id });
  const leased = await store.jobs.lease(agent.id, ['default'], 30_000, now());
  await store.console.append(running.id, [{ text: 'hello' }, { text: 'err', stream: 'stderr' }]);
  const snapshot = await store.snapshots.add({ instance: running.id, owner: bob.id, sha256: 'a'.repeat(64), size: 1234, path: 'blobs/aa' });
  await store.revocations.add({ user: bob.id, instance: running.id, before: now() });
  await store.usedLinks.claim('jti-1', now() + 60_000);
  await store.signOuts.add('sid-1', now() + 60_000);
  await store.signinFailures.attempt('203.0.113.7', 'bob', now(), 3_600_000, () => ({ count: true, value: undefined }));
  const minute = Math.floor(now() / 60_000) * 60_000;
  await store.metrics.update([{ instance: running.id, resolutionMs: 10_000, t: minute }, { instance: running.id, resolutionMs: 60_000, t: minute }], (p) => {
    p.requests += 7;
    p.memMax = 1.5e9;
    p.p99 = 12.5;
  });
  await store.users.remove(gone.id);
  return { ada, bob, token, agent, secret, gatewayKey, running, queued, job, leased, snapshot };
}

/** What a control reads back, through the store's interface. */
async function view(store: Store) {
  const instances = await store.instances.list();
  return {
    users: await store.users.list(),
    agents: await store.agents.list(),
    gateways: await store.gateways.list(),
    instances,
    jobs: await Promise.all(instances.map((i) => store.jobs.get(i.id))),
    depths: await store.jobs.depths(),
    snapshots: await store.snapshots.list(),
    console: await Promise.all(instances.map((i) => store.console.since(i.id, 0))),
    revocations: await store.revocations.list(),
  };
}

describe.each([[sqlite, postgres], [postgres, sqlite]])('copy a populated store from $name to $name', (fromBackend, toBackend) => {
  let from: TestStore;
  let to: TestStore;
  beforeEach(async () => {
    from = await fromBackend.open();
    to = await toBackend.open();
  });
  afterEach(async () => {
    await from.cleanup();
    await to.cleanup();
  });

  it('moves every row: the copy reads back the same, and every credential still verifies', async () => {
    const made = await populate(from.store, from.clock.read);
    const copied = await copyStore(await from.sql(), await to.sql());
    expect(copied).toEqual(await rowCounts(await from.sql()));
    expect(copied.users).toBe(3);
    expect(copied.console_lines).toBe(2);
    const store = to.store;
    expect(await view(store)).toEqual(await view(from.store));
    expect(await store.users.verifyPassword('bob', 'pw-bob')).toMatchObject({ id: made.bob.id });
    expect(await store.users.verifyPassword('gone', 'x')).toBeUndefined();
    expect(await store.apiTokens.verify(made.token)).toMatchObject({ id: made.bob.id });
    expect(await store.agents.verify(made.agent.key, made.secret)).toMatchObject({ id: made.agent.id });
    expect(await store.gateways.verify(made.gatewayKey)).toMatchObject({ name: 'edge' });
    expect(await store.usedLinks.claim('jti-1', to.clock.now + 60_000)).toBe(false);
    expect(await store.signOuts.list(to.clock.now)).toEqual([{ sid: 'sid-1', expires: from.clock.now + 60_000 }]);
    expect(await store.metrics.list(made.running.id, 60_000, 0, 8.64e15)).toEqual(await from.store.metrics.list(made.running.id, 60_000, 0, 8.64e15));
    expect((await store.metrics.list(made.running.id, 10_000, 0, 8.64e15))[0]).toMatchObject({ requests: 7, memMax: 1.5e9, p99: 12.5 });
    // The lease moved with its holder; the next launch queues after the copied jobs.
    await expect(store.jobs.assertHolder(made.agent.id, made.leased!.instance, to.clock.now)).resolves.toBeUndefined();
    const later = await store.instances.create({ owner: made.bob.id, config: testConfig(), spec: testSpec() });
    expect((await store.jobs.get(later.id))!.seq).toBeGreaterThan(made.leased!.seq);
    expect((await store.console.append(made.running.id, [{ text: 'more' }]))).toBe(3);
  });

  it('refuses a target that holds anything, unless told to replace it; a refused copy changes nothing', async () => {
    await populate(from.store, from.clock.read);
    await to.store.users.add({ name: 'admin', password: 'x', admin: true });
    await expect(copyStore(await from.sql(), await to.sql())).rejects.toMatchObject({ code: 'CTL_STORE_NOT_EMPTY', message: expect.stringContaining('1 users') });
    expect((await to.store.users.list()).map((u) => u.name)).toEqual(['admin']);
    await copyStore(await from.sql(), await to.sql(), { replace: true });
    expect(await view(to.store)).toEqual(await view(from.store));
  });
});

describe('the tables copied', () => {
  it('are every table of both schemas but the schema version and the shared route table', async () => {
    for (const backend of backends) {
      const t = await backend.open();
      try {
        const sql = await t.sql();
        const tables = sql.dialect === 'postgres'
          ? await sql.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")
          : await sql.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
        expect(tables.map((r) => r.name).filter((n) => n !== 'schema_version').sort(), backend.name).toEqual([...TABLES.map((x) => x.name), ...NOT_COPIED].sort());
      } finally {
        await t.cleanup();
      }
    }
  });
});


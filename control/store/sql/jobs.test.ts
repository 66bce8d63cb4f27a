import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Instance, Store, User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

const LEASE_MS = 30_000; // thirty seconds

describe.each(backends)('$name job queue', ({ open }) => {
  let t: TestStore;
  let ada: User;
  beforeEach(async () => {
    t = await open();
    ada = await t.store.users.add({ name: 'ada', password: 'x' });
  });
  afterEach(() => t.cleanup());

  const launch = (queue = 'default', store: Store = t.store): Promise<Instance> =>
    store.instances.create({ owner: ada.id, config: testConfig({ queue }), spec: testSpec() });
  const agent = async (queues: string[] = ['default']) => (await t.store.agents.add({ name: 'host', queues })).agent.id;
  const lease = (agentId: string, queues: string[] = ['default'], leaseMs = LEASE_MS) =>
    t.store.jobs.lease(agentId, queues, leaseMs, t.clock.now);

  it('hand out jobs first in, first out', async () => {
    const launched = [];
    for (let i = 0; i < 5; i++) launched.push((await launch()).id);
    const a = await agent();
    const got = [];
    for (let job = await lease(a); job; job = await lease(a)) got.push(job.instance);
    expect(got).toEqual(launched);
  });

  it('take the agent\'s queues in the order it lists them', async () => {
    const a1 = await launch('a');
    const a2 = await launch('a');
    const b1 = await launch('b');
    await launch('c');
    const id = await agent(['b', 'a']);
    const got = [];
    for (let job = await lease(id, ['b', 'a']); job; job = await lease(id, ['b', 'a'])) got.push(job.instance);
    expect(got).toEqual([b1.id, a1.id, a2.id]);
    expect(await t.store.jobs.depths()).toEqual([
      { queue: 'a', queued: 0, leased: 2 }, { queue: 'b', queued: 0, leased: 1 }, { queue: 'c', queued: 1, leased: 0 },
    ]);
  });

  it('lease a job: the instance starts on that agent, the lease ends after leaseMs', async () => {
    const instance = await launch();
    const a = await agent();
    const job = await lease(a);
    expect(job).toMatchObject({ instance: instance.id, queue: 'default', state: 'leased', agent: a, leaseExpires: t.clock.now + LEASE_MS, attempts: 1 });
    expect(await t.store.instances.get(instance.id)).toMatchObject({ status: 'starting', agent: a });
    expect(await lease(a)).toBeUndefined();
  });

  it('give nothing to a draining agent, and refuse an unknown one', async () => {
    await launch();
    const a = await agent();
    await t.store.agents.setDrain(a, true);
    expect(await lease(a)).toBeUndefined();
    await expect(lease('a-missing')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await t.store.agents.setDrain(a, false);
    expect(await lease(a)).toBeDefined();
  });

  it('drop the job of an instance stopped before any agent took it', async () => {
    const instance = await launch();
    await t.store.instances.updateStatus(instance.id, 'stopped', 'user stop');
    expect(await lease(await agent())).toBeUndefined();
    expect(await t.store.jobs.depths()).toEqual([]);
  });

  it('re-queue an expired lease exactly once, at its old place in the queue', async () => {
    const first = await launch();
    const a = await agent();
    const leasedAt = t.clock.now;
    await lease(a);
    const second = await launch();
    t.clock.advance(LEASE_MS - 1);
    expect(await t.store.jobs.expire(t.clock.now)).toEqual([]);
    t.clock.advance(1);
    const expired = await t.store.jobs.expire(t.clock.now);
    expect(expired).toEqual([expect.objectContaining({ instance: first.id, agent: a, state: 'leased', leaseExpires: leasedAt + LEASE_MS })]);
    expect(await t.store.jobs.expire(t.clock.now)).toEqual([]);
    expect(await t.store.jobs.expire(t.clock.now + 10 * LEASE_MS)).toEqual([]);
    expect(await t.store.instances.get(first.id)).toMatchObject({ status: 'queued', agent: null, statusReason: expect.stringMatching(/lease/) });

    const b = await agent();
    const again = await lease(b);
    expect(again).toMatchObject({ instance: first.id, agent: b, attempts: 2 });
    expect((await lease(b))?.instance).toBe(second.id);
  });

  it('re-queue once even when two controls expire at the same moment', async () => {
    const instance = await launch();
    await lease(await agent());
    const other = await t.openAnother();
    const now = t.clock.advance(LEASE_MS);
    const results = await Promise.all([t.store.jobs.expire(now), other.jobs.expire(now), t.store.jobs.expire(now)]);
    expect(results.flat().map((j) => j.instance)).toEqual([instance.id]);
  });

  it('keep a lease alive while the heartbeat renews it', async () => {
    const instance = await launch();
    const a = await agent();
    await lease(a);
    for (let i = 0; i < 5; i++) {
      t.clock.advance(LEASE_MS - 1_000);
      expect(await t.store.jobs.renew(a, t.clock.now, LEASE_MS)).toBe(1);
      expect(await t.store.jobs.expire(t.clock.now)).toEqual([]);
    }
    expect((await t.store.jobs.get(instance.id))?.leaseExpires).toBe(t.clock.now + LEASE_MS);
    await t.store.instances.updateStatus(instance.id, 'active', null, { agent: a });
    expect(await t.store.instances.get(instance.id)).toMatchObject({ status: 'active', agent: a });
  });

  it('renew only the leases an agent names, so that one whose answer it never got runs out', async () => {
    const { agent: { id: a } } = await t.store.agents.add({ name: 'a', queues: ['q'] });
    const first = (await launch('q')).id;
    const lost = (await launch('q')).id;
    await t.store.jobs.lease(a, ['q'], LEASE_MS, t.clock.now);
    await t.store.jobs.lease(a, ['q'], LEASE_MS, t.clock.now); // its answer was lost on the way
    t.clock.advance(LEASE_MS - 1);
    expect(await t.store.jobs.renew(a, t.clock.now, LEASE_MS, [first, 'i-unknown'])).toBe(1);
    t.clock.advance(1);
    expect((await t.store.jobs.expire(t.clock.now)).map((j) => j.instance)).toEqual([lost]);
    expect((await t.store.instances.get(lost))!.status).toBe('queued');
    expect((await t.store.instances.get(first))!.status).toBe('starting');
    expect(await t.store.jobs.renew(a, t.clock.now, LEASE_MS, [])).toBe(0);
  });

  it('not revive a lease that ran out before the heartbeat came', async () => {
    const instance = await launch();
    const a = await agent();
    await lease(a);
    t.clock.advance(LEASE_MS);
    expect(await t.store.jobs.renew(a, t.clock.now, LEASE_MS)).toBe(0);
    expect((await t.store.jobs.expire(t.clock.now)).map((j) => j.instance)).toEqual([instance.id]);
  });

  it('refuse a report of an earlier lease of the same agent: the fencing epoch', async () => {
    const instance = await launch();
    const a = await agent();
    const first = (await lease(a))!;
    expect(first.attempts).toBe(1);
    t.clock.advance(LEASE_MS);
    await t.store.jobs.expire(t.clock.now);
    const second = (await lease(a))!; // the same agent takes the job again
    expect(second.attempts).toBe(2);
    // The set-up of the first lease reports late: refused, though the agent holds the job.
    await expect(t.store.jobs.assertHolder(a, instance.id, t.clock.now, 1)).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await expect(t.store.instances.setEndpoint(instance.id, { host: 'x' }, { agent: a, epoch: 1 })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await expect(t.store.instances.updateStatus(instance.id, 'active', null, { agent: a, epoch: 1 })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    // The current lease's reports go through; once active, the job is done and epochs no longer matter.
    await expect(t.store.jobs.assertHolder(a, instance.id, t.clock.now, 2)).resolves.toBeUndefined();
    expect(await t.store.instances.updateStatus(instance.id, 'active', null, { agent: a, epoch: 2 })).toMatchObject({ status: 'active' });
    await expect(t.store.jobs.assertHolder(a, instance.id, t.clock.now, 1)).resolves.toBeUndefined();
  });

  it('refuse reports under an expired or a foreign lease', async () => {
    const instance = await launch();
    const a = await agent();
    const b = await agent();
    await lease(a);
    t.clock.advance(LEASE_MS);
    // Expired but not yet swept: already dead.
    await expect(t.store.jobs.assertHolder(a, instance.id, t.clock.now)).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await expect(t.store.instances.updateStatus(instance.id, 'active', null, { agent: a })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await t.store.jobs.expire(t.clock.now);
    // Re-queued: nobody holds it.
    await expect(t.store.instances.updateStatus(instance.id, 'failed', 'exit 1', { agent: a })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await lease(b);
    // Given to another agent: the first one's reports stay refused, the holder's go through.
    await expect(t.store.instances.setEndpoint(instance.id, { host: 'x' }, { agent: a })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await expect(t.store.jobs.assertHolder(b, instance.id, t.clock.now)).resolves.toBeUndefined();
    expect(await t.store.instances.updateStatus(instance.id, 'active', null, { agent: b })).toMatchObject({ status: 'active', agent: b });
    await expect(t.store.jobs.assertHolder(a, instance.id, t.clock.now)).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
  });

  it('never lease one job to two connections', async () => {
    for (let i = 0; i < 20; i++) await launch();
    const other = await t.openAnother();
    const a = await agent();
    const b = await agent();
    const leases = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      (i % 2 ? other : t.store).jobs.lease(i % 2 ? b : a, ['default'], LEASE_MS, t.clock.now)));
    const seqs = leases.filter((j) => j !== undefined).map((j) => j.seq);
    expect(seqs).toHaveLength(20);
    expect(new Set(seqs).size).toBe(20);
  });

  it('let sixteen agents launch, lease and report at once through two connections, none refused', async () => {
    // What the bench's preload does through two controls. Leases, endpoints and statuses run with
    // row locks on PostgreSQL (READ COMMITTED): each job still goes to one agent, each instance
    // turns active once. (The serialization failures that made the bench's preload give up with
    // a 500 needed its whole HTTP path; `npm run bench` reproduces that, this test does not.)
    const other = await t.openAnother();
    const agents = [await agent(), await agent()];
    let next = 0;
    const done: string[] = [];
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      const store = w % 2 ? other : t.store;
      const holder = agents[w % 2];
      while (next < 64) {
        next++;
        await launch('default', store);
        const job = await store.jobs.lease(holder, ['default'], LEASE_MS, t.clock.now);
        if (!job) continue; // the other connection's worker took it: its own lease comes next
        await store.instances.setEndpoint(job.instance, { host: '10.0.0.1', port: 8080 }, { agent: holder });
        done.push((await store.instances.updateStatus(job.instance, 'active', null, { agent: holder })).id);
      }
    }));
    const leftover = await t.store.jobs.lease(agents[0], ['default'], LEASE_MS, t.clock.now);
    expect(done.length + (leftover ? 1 : 0)).toBeLessThanOrEqual(64);
    expect(new Set(done).size).toBe(done.length);
    expect((await t.store.instances.list({ status: ['active'] })).length).toBe(done.length);
  });
});


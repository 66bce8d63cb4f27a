import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Instance, User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

const LEASE_MS = 30_000;

describe.each(backends)('$name instances', ({ open }) => {
  let t: TestStore;
  let ada: User;
  beforeEach(async () => {
    t = await open();
    ada = await t.store.users.add({ name: 'ada', password: 'x' });
  });
  afterEach(() => t.cleanup());

  const launch = (overrides: Record<string, unknown> = {}, owner = ada.id) =>
    t.store.instances.create({ owner, config: testConfig(overrides), spec: testSpec() });

  /** Launches, leases to a new agent, and reports readiness. */
  async function running(): Promise<{ instance: Instance; agent: string }> {
    const instance = await launch();
    const { agent } = await t.store.agents.add({ name: 'host' });
    await t.store.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now);
    await t.store.instances.updateStatus(instance.id, 'active', null, { agent: agent.id });
    return { instance: (await t.store.instances.get(instance.id))!, agent: agent.id };
  }

  it('never let two instances hold one gateway port, even from two controls at once; losing the endpoint frees it', async () => {
    const a = await running();
    const b = await running();
    const tcp = (gatewayPort: number) => ({ host: '10.0.0.2', port: 6379, routing: 'tcp', containerPort: 6379, gatewayPort });
    await t.store.instances.setEndpoint(a.instance.id, tcp(20001), { agent: a.agent });
    await expect(t.store.instances.setEndpoint(b.instance.id, tcp(20001), { agent: b.agent })).rejects.toMatchObject({ code: 'CTL_TCP_PORT_TAKEN' });
    // Its own port again is no conflict.
    await t.store.instances.setEndpoint(a.instance.id, tcp(20001), { agent: a.agent });
    // Two controls pin one port to two instances at the same moment: one wins.
    const other = await t.openAnother();
    const c = await running();
    const raced = await Promise.allSettled([
      t.store.instances.setEndpoint(b.instance.id, tcp(20002), { agent: b.agent }),
      other.instances.setEndpoint(c.instance.id, tcp(20002), { agent: c.agent }),
    ]);
    expect(raced.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    // a stops: its endpoint and its port go, and another instance may take the port.
    await t.store.instances.updateStatus(a.instance.id, 'stopped', null, { agent: a.agent });
    const loser = raced[0].status === 'rejected' ? b : c;
    expect(await t.store.instances.setEndpoint(loser.instance.id, tcp(20001), { agent: loser.agent })).toMatchObject({ endpoint: { gatewayPort: 20001 } });
  });

  it('store a launch as queued, with the fields of its config and a DNS-label id', async () => {
    const config = testConfig({ name: 'demo', project: 'P', tags: ['x', 'y'], queue: 'gpu', workspace: { restoreFrom: 'i-00000000' } });
    const instance = await t.store.instances.create({ owner: ada.id, config, spec: testSpec() });
    expect(instance).toEqual({
      id: expect.stringMatching(/^i-[a-z0-9]{8}$/), owner: ada.id, app: 'container', name: 'demo', project: 'P', tags: ['x', 'y'],
      queue: 'gpu', config, spec: testSpec(), status: 'queued', statusReason: null, agent: null, endpoint: null,
      restoredFrom: 'i-00000000', created: t.clock.now, updated: t.clock.now, started: null, stopped: null, quietSince: null,
    });
    expect(await t.store.instances.get(instance.id)).toEqual(instance);
    expect(await t.store.jobs.get(instance.id)).toMatchObject({ queue: 'gpu', state: 'queued', agent: null });
    await expect(launch({}, 'u-missing')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('filter by status, project, tag, queue and owner, newest first', async () => {
    const bob = await t.store.users.add({ name: 'bob', password: 'x' });
    const a = await launch({ project: 'Alpha', tags: ['red', 'big'] });
    t.clock.advance(1);
    const b = await launch({ project: 'Beta', tags: ['red'], queue: 'gpu' });
    t.clock.advance(1);
    const c = await launch({ project: 'Alpha', tags: ['blue'] }, bob.id);
    await t.store.instances.updateStatus(b.id, 'stopped', 'user stop');
    const ids = async (filter: Parameters<typeof t.store.instances.list>[0]) => (await t.store.instances.list(filter)).map((i) => i.id);
    expect(await ids({})).toEqual([c.id, b.id, a.id]);
    expect(await ids({ status: 'queued' })).toEqual([c.id, a.id]);
    expect(await ids({ status: ['stopped', 'failed'] })).toEqual([b.id]);
    expect(await ids({ status: [] })).toEqual([]);
    expect(await ids({ project: 'Alpha' })).toEqual([c.id, a.id]);
    expect(await ids({ tag: 'red' })).toEqual([b.id, a.id]);
    expect(await ids({ tag: 're' })).toEqual([]);
    expect(await ids({ queue: 'gpu' })).toEqual([b.id]);
    expect(await ids({ owner: bob.id })).toEqual([c.id]);
    expect(await ids({ project: 'Alpha', tag: 'red', owner: ada.id, status: 'queued' })).toEqual([a.id]);
    expect(await ids({ limit: 2 })).toEqual([c.id, b.id]);
  });

  it('refuse an illegal transition and leave the instance as it was', async () => {
    const instance = await launch();
    await expect(t.store.instances.updateStatus(instance.id, 'active', null)).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION', from: 'queued', to: 'active' });
    await t.store.instances.updateStatus(instance.id, 'stopped', 'user stop');
    for (const to of ['queued', 'starting', 'active', 'idle', 'stopping', 'stopped'] as const) {
      await expect(t.store.instances.updateStatus(instance.id, to, null)).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION' });
    }
    expect((await t.store.instances.get(instance.id))?.status).toBe('stopped');
    await expect(t.store.instances.updateStatus('i-missing', 'stopped', null)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('leave queued → starting and starting → queued to the job queue', async () => {
    const instance = await launch();
    await expect(t.store.instances.updateStatus(instance.id, 'starting', null)).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION' });
    const { agent } = await t.store.agents.add({ name: 'host' });
    await t.store.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now);
    await expect(t.store.instances.updateStatus(instance.id, 'queued', null)).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION' });
  });

  it('fail only with a reason, from any status but failed', async () => {
    const instance = await launch();
    await expect(t.store.instances.updateStatus(instance.id, 'failed', null)).rejects.toMatchObject({ code: 'CTL_REASON_REQUIRED' });
    await expect(t.store.instances.updateStatus(instance.id, 'failed', '')).rejects.toMatchObject({ code: 'CTL_REASON_REQUIRED' });
    const failed = await t.store.instances.updateStatus(instance.id, 'failed', 'bad image');
    expect(failed).toMatchObject({ status: 'failed', statusReason: 'bad image', stopped: t.clock.now });
    expect(await t.store.jobs.get(instance.id)).toBeUndefined();
    await expect(t.store.instances.updateStatus(instance.id, 'failed', 'again')).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION' });
  });

  it('walk the whole life: times, reasons, the end of the job, the endpoint', async () => {
    const { instance, agent } = await running();
    expect(instance).toMatchObject({ status: 'active', agent, started: t.clock.now, stopped: null });
    expect(await t.store.jobs.get(instance.id)).toBeUndefined(); // the launch job is done
    await t.store.instances.setEndpoint(instance.id, { host: '127.0.0.1', ports: [{ port: 8080, hostPort: 32768 }] }, { agent });
    const started = t.clock.now;
    t.clock.advance(60_000);
    await t.store.instances.updateStatus(instance.id, 'idle', 'idle window passed');
    await t.store.instances.updateStatus(instance.id, 'active', null);
    const stopping = await t.store.instances.updateStatus(instance.id, 'stopping', 'user stop');
    expect(stopping).toMatchObject({ status: 'stopping', statusReason: 'user stop', started, endpoint: { host: '127.0.0.1' } });
    t.clock.advance(1_000);
    const stopped = await t.store.instances.updateStatus(instance.id, 'stopped', null, { agent });
    expect(stopped).toMatchObject({ status: 'stopped', statusReason: null, started, stopped: t.clock.now, updated: t.clock.now, endpoint: null, agent });
    await expect(t.store.instances.setEndpoint(instance.id, { host: 'x' }, { agent })).rejects.toMatchObject({ code: 'CTL_INVALID' });
  });

  it('refuse a report from an agent that does not hold the instance', async () => {
    const { instance } = await running();
    const { agent: other } = await t.store.agents.add({ name: 'other' });
    await expect(t.store.instances.updateStatus(instance.id, 'stopped', null, { agent: other.id })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    await expect(t.store.instances.setEndpoint(instance.id, { host: 'x' }, { agent: other.id })).rejects.toMatchObject({ code: 'CTL_LEASE_EXPIRED' });
    expect((await t.store.instances.get(instance.id))?.status).toBe('active');
  });

  it('keep the start of the quiet period for the idle clock', async () => {
    const instance = await launch();
    await t.store.instances.setQuietSince(instance.id, 12_345);
    expect((await t.store.instances.get(instance.id))?.quietSince).toBe(12_345);
    await t.store.instances.setQuietSince(instance.id, null);
    expect((await t.store.instances.get(instance.id))?.quietSince).toBeNull();
    await expect(t.store.instances.setQuietSince('i-missing', 1)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('remove only a stopped or failed instance, with its console; a kept snapshot keeps it hidden until the last one goes', async () => {
    const { instance } = await running();
    await expect(t.store.instances.remove(instance.id)).rejects.toMatchObject({ code: 'CTL_ILLEGAL_TRANSITION' });
    await t.store.instances.updateStatus(instance.id, 'stopped', 'user stop');
    await t.store.console.append(instance.id, [{ text: 'hello' }]);
    const snap = { instance: instance.id, owner: ada.id, sha256: 'a'.repeat(64), size: 1, path: 'aa/a' };
    const s1 = await t.store.snapshots.add(snap);
    const s2 = await t.store.snapshots.add(snap);

    expect(await t.store.instances.remove(instance.id)).toEqual({ snapshots: [] });
    expect(await t.store.instances.get(instance.id)).toBeUndefined();
    expect(await t.store.instances.list()).toEqual([]);
    expect(await t.store.instances.count()).toBe(0);
    expect(await t.store.console.since(instance.id, 0)).toEqual([]);
    await expect(t.store.console.append(instance.id, [{ text: 'late' }])).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.instances.updateStatus(instance.id, 'failed', 'late report')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.instances.remove(instance.id)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    // Restoring and cloning still read it, with its config.
    expect(await t.store.instances.get(instance.id, { removed: true })).toMatchObject({ id: instance.id, status: 'stopped', config: instance.config });
    expect((await t.store.snapshots.list({ instance: instance.id })).map((s) => s.id).sort()).toEqual([s1.id, s2.id].sort());

    await t.store.snapshots.delete(s1.id);
    expect(await t.store.instances.get(instance.id, { removed: true })).toBeDefined();
    await t.store.snapshots.delete(s2.id);
    expect(await t.store.instances.get(instance.id, { removed: true })).toBeUndefined();
  });

  it('remove an instance with its snapshots when asked, returning them; without snapshots its row goes at once', async () => {
    const plain = await launch();
    await t.store.instances.updateStatus(plain.id, 'stopped', null);
    await t.store.instances.remove(plain.id);
    expect(await t.store.instances.get(plain.id, { removed: true })).toBeUndefined();

    const { instance } = await running();
    await t.store.instances.updateStatus(instance.id, 'failed', 'exit 1');
    const s = await t.store.snapshots.add({ instance: instance.id, owner: ada.id, sha256: 'b'.repeat(64), size: 1, path: 'bb/b' });
    await t.store.instances.remove(instance.id);
    // Removed again with its snapshots: both go.
    expect(await t.store.instances.remove(instance.id, { snapshots: true })).toEqual({ snapshots: [s] });
    expect(await t.store.snapshots.get(s.id)).toBeUndefined();
    expect(await t.store.instances.get(instance.id, { removed: true })).toBeUndefined();
  });

  it('count what a filter lists, and set a status reason only while status and reason are as read', async () => {
    const a = await launch();
    const b = await launch();
    await t.store.instances.updateStatus(b.id, 'stopped', null);
    expect(await t.store.instances.count()).toBe(2);
    expect(await t.store.instances.count({ status: ['stopped', 'failed'] })).toBe(1);
    expect(await t.store.instances.count({ status: [] })).toBe(0);
    expect(await t.store.instances.setStatusReason(a.id, 'x', { status: 'queued', reason: null })).toBe(true);
    expect(await t.store.instances.setStatusReason(a.id, 'y', { status: 'queued', reason: null })).toBe(false);
    expect(await t.store.instances.setStatusReason(b.id, 'y', { status: 'queued', reason: null })).toBe(false);
    expect((await t.store.instances.get(a.id))?.statusReason).toBe('x');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempStore, testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { IdleMonitor, type IdleTickResult } from './idle-monitor.ts';

const S = 1000;
const MIN = 60 * S;

/*
 * Two controls' idle monitors on one store: the agent reports to one of them, the one that
 * leads acts on what it was told (observations pass from one to the other as the change feed
 * carries them), and a stop happens once. When the lead moves, the other carries on.
 */
describe('idle monitors of two controls', () => {
  let t: TempStore;
  let instance: string;
  let leader: 'a' | 'b';
  let monitors: Record<'a' | 'b', IdleMonitor>;

  beforeEach(async () => {
    t = tempStore();
    const owner = await t.store.users.add({ name: 'ada', password: 'x' });
    const { agent } = await t.store.agents.add({ name: 'host', queues: ['default'] });
    instance = (await t.store.instances.create({ owner: owner.id, config: testConfig({ idle: { maxHours: 0.05 } }), spec: testSpec() })).id; // 3 min
    await t.store.jobs.lease(agent.id, ['default'], 3_600_000, t.clock.now);
    await t.store.instances.updateStatus(instance, 'active', null, { agent: agent.id });
    const monitor = (name: 'a' | 'b', other: () => IdleMonitor) => new IdleMonitor({
      store: t.store, clock: t.clock.read, windowMs: MIN, warningMs: MIN,
      lead: async () => leader === name,
      onObserve: (o) => other().replay([o]), // what the change feed does between two controls
    });
    monitors = { a: monitor('a', () => monitors.b), b: monitor('b', () => monitors.a) };
  });
  afterEach(() => t.cleanup());

  /** Quiet samples reported to control a every 5 s, both monitors ticking every second. */
  async function run(forMs: number): Promise<IdleTickResult[]> {
    const results: IdleTickResult[] = [];
    const end = t.clock.now + forMs;
    while (t.clock.now < end) {
      monitors.a.sample(instance, { cpuPercent: 1, networkBytesPerS: 10 });
      for (let i = 0; i < 5 && t.clock.now < end; i++) {
        t.clock.advance(S);
        results.push(await monitors.a.tick(), await monitors.b.tick());
      }
    }
    return results;
  }
  const count = (results: IdleTickResult[], what: keyof IdleTickResult) => results.reduce((n, r) => n + r[what].length, 0);

  it('acts once, by the control that leads, on samples reported to the other', async () => {
    leader = 'b';
    const results = await run(5 * MIN);
    expect(count(results, 'idle')).toBe(1);
    expect(count(results, 'warned')).toBe(1);
    expect(count(results, 'stopped')).toBe(1);
    expect((await t.store.instances.get(instance))!.status).toBe('stopping');
    // Everything was b's doing: a only observed.
    expect(results.filter((_, i) => i % 2 === 0).every((r) => r.idle.length + r.warned.length + r.stopped.length === 0)).toBe(true);
  });

  it('carries on when the lead moves: the idle clock is not reset, and the stop still happens once', async () => {
    leader = 'a';
    const before = await run(90 * S);
    expect(count(before, 'idle')).toBe(1);
    const quietSince = (await t.store.instances.get(instance))!.quietSince;
    expect(quietSince).not.toBeNull();
    leader = 'b'; // a's process died: b holds the lock from its next tick
    const after = await run(4 * MIN);
    expect(count(after, 'stopped')).toBe(1);
    expect(after.filter((_, i) => i % 2 === 0).every((r) => r.stopped.length === 0)).toBe(true);
    expect((await t.store.instances.get(instance))!).toMatchObject({ status: 'stopping' });
  });
});

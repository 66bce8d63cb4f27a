import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from '../../../test/support/postgres.ts';
import type { FeedEvent } from '../change-feed.ts';
import type { Store } from '../store.ts';
import { ManualClock, TEST_SCRYPT_COST } from '../testing.ts';
import { openPostgresStore } from './open.ts';
import { until } from '../../../test/support/tcp.ts';

/** Collects what a store's feed hears. */
function hear(store: Store): FeedEvent[] {
  const heard: FeedEvent[] = [];
  store.changes.subscribe((e) => heard.push(e));
  return heard;
}

// The change feed over a real PostgreSQL: NOTIFY from one control, LISTEN on a connection of
// the other's own, which comes back by itself after the server restarts.
describe('PostgreSQL change feed', () => {
  let postgres: Postgres;
  const clock = new ManualClock();
  const open = (url: string, errors: Error[] = []) => openPostgresStore({ url, clock: clock.read, scryptCost: TEST_SCRYPT_COST, onError: (e) => errors.push(e) });

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  it('tells every other control, never the one that published, in chunks below NOTIFY\'s limit', async () => {
    const url = await postgres.createDatabase();
    const [a, b, c] = await Promise.all([open(url), open(url), open(url)]);
    try {
      const [heardA, heardB, heardC] = [hear(a), hear(b), hear(c)];
      const many = Array.from({ length: 1_000 }, (_, i) => `i-${String(i).padStart(8, '0')}`);
      await a.changes.publish({ kind: 'routes', instances: ['i-1'] });
      await a.changes.publish({ kind: 'routes', instances: many });
      await b.changes.publish({ kind: 'sessions' });
      const observations = Array.from({ length: 45 }, (_, i) => ({ instance: `i-${i}`, kind: 'traffic', at: i, source: 'g', bytes: 1, intervalMs: 5_000 }));
      await a.changes.publish({ kind: 'idle', observations });
      const ids = (heard: FeedEvent[]) => heard.flatMap((e) => (e.kind === 'routes' ? e.instances : []));
      await until('c heard everything', () => ids(heardC).length === 1_001 && heardC.some((e) => e.kind === 'sessions'), 10_000);
      expect(ids(heardC)).toEqual(['i-1', ...many]);
      await until('b heard a', () => ids(heardB).length === 1_001, 10_000);
      expect(heardB.some((e) => e.kind === 'sessions')).toBe(false);
      // a hears b's notice in its own time (a loaded machine delays it): wait for it, then check it heard nothing else.
      await until('a heard b', () => heardA.length > 0, 10_000);
      expect(ids(heardA)).toEqual([]);
      expect(heardA).toEqual([{ kind: 'sessions' }]);
      // Idle observations arrive whole, in order, however many notices they took.
      await until('c heard the observations', () => heardC.flatMap((e) => (e.kind === 'idle' ? e.observations : [])).length === 45, 10_000);
      expect(heardC.flatMap((e) => (e.kind === 'idle' ? e.observations : []))).toEqual(observations);
    } finally {
      await Promise.all([a, b, c].map((s) => s.close()));
    }
  });

  it('says resync once its connection is back after PostgreSQL restarts, and hears again after', async () => {
    const url = await postgres.createDatabase();
    const errors: Error[] = [];
    const [a, b] = await Promise.all([open(url), open(url, errors)]);
    try {
      const heard = hear(b);
      await postgres.stop();
      await postgres.start();
      await until('b resyncs', () => heard.some((e) => e.kind === 'resync'), 20_000);
      expect(errors.length).toBeGreaterThan(0); // the cut was reported, not thrown
      // A notice sent now arrives (the pool of `a` replaces its broken connections too).
      let sent = false;
      while (!sent) {
        sent = await a.changes.publish({ kind: 'routes', instances: ['i-after'] }).then(() => true, () => false);
        if (!sent) await sleep(50);
      }
      await until('b hears after the restart', () => heard.some((e) => e.kind === 'routes' && e.instances[0] === 'i-after'), 10_000);
    } finally {
      await Promise.all([a, b].map((s) => s.close()));
    }
  }, 60_000);
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from '../../../test/support/postgres.ts';
import { ManualClock, TEST_SCRYPT_COST } from '../testing.ts';
import { lockClientConfig } from './locks.ts';
import { openPostgresStore } from './open.ts';

// Work that runs on one control at a time, on a real PostgreSQL: one holder, handed on at
// once when the holder's connection ends, never held by two.
describe('PostgreSQL locks', () => {
  let postgres: Postgres;
  const clock = new ManualClock();
  const open = (url: string) => openPostgresStore({ url, clock: clock.read, scryptCost: TEST_SCRYPT_COST });

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  it('lets one control hold a lock, hands it on when that control is gone, and keeps names apart', async () => {
    const url = await postgres.createDatabase();
    const [a, b, c] = await Promise.all([open(url), open(url), open(url)]);
    try {
      const first = await Promise.all([a, b, c].map((s) => s.locks.hold('idle-monitor')));
      expect(first.filter(Boolean)).toHaveLength(1);
      const holder = [a, b, c][first.indexOf(true)];
      const others = [a, b, c].filter((s) => s !== holder);
      // Held again and again by the same one; another name is another lock.
      for (let i = 0; i < 3; i++) expect(await Promise.all([holder, ...others].map((s) => s.locks.hold('idle-monitor')))).toEqual([true, false, false]);
      expect(await others[0].locks.hold('snapshot-retention')).toBe(true);
      // The holder's process ends (its connection with it): the next to ask takes the lock.
      await holder.close();
      const next = await Promise.all(others.map((s) => s.locks.hold('idle-monitor')));
      expect(next.filter(Boolean)).toHaveLength(1);
    } finally {
      for (const s of [a, b, c]) await s.close().catch(() => {});
    }
  });

  it('asks PostgreSQL for TCP keepalives on the locks\' connection, so that a vanished host releases them within 15 s', async () => {
    const client = new pg.Client(lockClientConfig(await postgres.createDatabase()));
    await client.connect();
    try {
      const show = async (name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name];
      const [idle, interval, count] = [Number(await show('tcp_keepalives_idle')), Number(await show('tcp_keepalives_interval')), Number(await show('tcp_keepalives_count'))];
      expect([idle, interval, count]).toEqual([5, 2, 3]);
      expect(idle + interval * count).toBeLessThan(15);
    } finally {
      await client.end();
    }
  });

  it('holds nothing while PostgreSQL is away, and takes the lock again once it is back', async () => {
    const url = await postgres.createDatabase();
    const store = await open(url);
    try {
      expect(await store.locks.hold('idle-monitor')).toBe(true);
      await postgres.stop();
      expect(await store.locks.hold('idle-monitor')).toBe(false);
      await postgres.start();
      let held = false;
      for (let i = 0; i < 100 && !held; i++) held = await store.locks.hold('idle-monitor');
      expect(held).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);
});

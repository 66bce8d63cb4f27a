import { execFileSync } from 'node:child_process';
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
      expect(await show('tcp_user_timeout')).toBe('10000'); // ms
      expect(idle + interval * count).toBeLessThan(15);
    } finally {
      await client.end();
    }
  });

  it('hands a lock on within 15 s when its holder\'s host vanishes (its packets dropped, no FIN), and that holder stops believing it holds it', async () => {
    const url = await postgres.createDatabase();
    const a = await open(url);
    const b = await open(url);
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    // The kernel drops every packet of a's lock connection, both ways, as a cable pulled would:
    // only the keepalives can find it dead.
    const rules: string[][] = [];
    try {
      expect(await a.locks.hold('idle-monitor')).toBe(true);
      const { rows } = await watcher.query<{ port: number }>("SELECT client_port AS port FROM pg_stat_activity WHERE application_name LIKE 'wharf control (locks%' AND datname = current_database()");
      expect(rows).toHaveLength(1);
      const port = String(rows[0].port);
      for (const [from, to] of [[port, String(postgres.port)], [String(postgres.port), port]]) {
        const rule = ['INPUT', '-i', 'lo', '-p', 'tcp', '--sport', from, '--dport', to, '-j', 'DROP'];
        iptables('-I', ...rule);
        rules.push(rule);
      }
      const cut = performance.now();
      let handedOn = -1;
      while (performance.now() - cut < 30_000) {
        if (await b.locks.hold('idle-monitor')) {
          handedOn = performance.now() - cut;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(handedOn, 'b never took the lock').toBeGreaterThan(0);
      // Keepalives after 5 s idle, every 2 s, 3 unanswered: about 11 s after the last packet.
      expect(handedOn).toBeLessThan(15_000);
      // a's own check times out: it holds nothing rather than acting beside b.
      expect(await a.locks.hold('idle-monitor')).toBe(false);
    } finally {
      for (const rule of rules) iptables('-D', ...rule);
      await watcher.end();
      await a.close().catch(() => {});
      await b.close().catch(() => {});
    }
  }, 60_000);

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

/** iptables as root (the CI machine's user); a missing iptables fails the test loudly. */
function iptables(...args: string[]): void {
  execFileSync('iptables', ['-w', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

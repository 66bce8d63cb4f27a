import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from '../../../test/support/postgres.ts';
import { ManualClock, TEST_SCRYPT_COST } from '../testing.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { openPostgresStore } from './open.ts';
import { numbered } from './postgres-sql.ts';

// What only the PostgreSQL store does (the shared behaviour is the contract suite in ../sql/):
// placeholders, opening, migrating from several controls at once, and a server that restarts.
describe('PostgreSQL store', () => {
  let postgres: Postgres;
  const clock = new ManualClock();
  const open = (url: string, extra: Partial<Parameters<typeof openPostgresStore>[0]> = {}) =>
    openPostgresStore({ url, clock: clock.read, scryptCost: TEST_SCRYPT_COST, ...extra });

  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(() => postgres?.destroy());

  it('numbers ? placeholders in order, leaving a quoted ? alone', () => {
    expect(numbered('SELECT a FROM t WHERE b = ? AND c IN (?, ?)')).toBe('SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)');
    expect(numbered(`SELECT '?' AS "q?" FROM t WHERE x = ?`)).toBe(`SELECT '?' AS "q?" FROM t WHERE x = $1`);
    expect(numbered("UPDATE t SET s = 'it''s' WHERE id = ?")).toBe("UPDATE t SET s = 'it''s' WHERE id = $1");
  });

  it('migrates a new database once when three controls open it at the same moment', async () => {
    const url = await postgres.createDatabase();
    const stores = await Promise.all([open(url), open(url), open(url)]);
    try {
      const client = new pg.Client(url);
      await client.connect();
      const versions = (await client.query('SELECT version FROM schema_version ORDER BY version')).rows.map((r) => r.version);
      await client.end();
      expect(versions).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      // Each of them works on the one schema.
      await stores[0].users.add({ name: 'ada', password: 'x' });
      expect((await stores[2].users.list()).map((u) => u.name)).toEqual(['ada']);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database written by a newer Wharf, and leaves its schema as it was', async () => {
    const url = await postgres.createDatabase();
    await (await open(url)).close();
    const newer = [...POSTGRES_MIGRATIONS, { version: POSTGRES_MIGRATIONS.length + 1, name: 'from the future', sql: 'CREATE TABLE future (x INTEGER)' }];
    await (await open(url, { migrations: newer })).close();
    await expect(open(url)).rejects.toMatchObject({ code: 'CTL_STORE_TOO_NEW' });
    const client = new pg.Client(url);
    await client.connect();
    expect((await client.query('SELECT MAX(version) AS v FROM schema_version')).rows[0].v).toBe(newer.length);
    await client.end();
  });

  it('says the server cannot be reached, without the password, when the port is wrong or the login refused', async () => {
    const url = new URL(await postgres.createDatabase());
    const wrongPassword = new URL(url);
    wrongPassword.password = 'not-the-password-xyzzy';
    for (const bad of [wrongPassword.toString(), `postgres://wharf:sekrit-pw-123@127.0.0.1:1/${url.pathname.slice(1)}`]) {
      const err = await open(bad).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err).toMatchObject({ code: 'CTL_STORE_UNREACHABLE' });
      expect(err!.message).not.toMatch(/xyzzy|sekrit/);
      expect(err!.message).toContain('***');
    }
  });

  it('comes back by itself after PostgreSQL restarts, without reopening, and nothing crashes meanwhile', async () => {
    const url = await postgres.createDatabase();
    const errors: Error[] = [];
    const store = await open(url, { onError: (err) => errors.push(err) });
    try {
      const ada = await store.users.add({ name: 'ada', password: 'x' });
      // Several pooled connections are idle when the server goes.
      await Promise.all(Array.from({ length: 5 }, () => store.users.get(ada.id)));
      await postgres.stop();
      await expect(store.users.get(ada.id)).rejects.toMatchObject({ code: 'CTL_STORE_UNREACHABLE', status: 503 });
      await postgres.start();
      const started = Date.now();
      let back: unknown;
      while (!back && Date.now() - started < 30_000) {
        back = await store.users.get(ada.id).catch(() => sleep(100));
      }
      expect(back).toMatchObject({ name: 'ada' });
      // The broken idle connections were reported, not thrown.
      expect(errors.length).toBeGreaterThan(0);
      await store.users.add({ name: 'bob', password: 'x' });
      expect((await store.users.list()).map((u) => u.name)).toEqual(['ada', 'bob']);
    } finally {
      await store.close();
    }
  }, 90_000);
});

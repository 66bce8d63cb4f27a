// The throw-away PostgreSQL helper itself: a real cluster on 127.0.0.1 that wharf logs in to
// with its password, separate databases per test case, data that survives a restart, and
// nothing left behind.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type Postgres } from './postgres.ts';
import { refuses } from './tcp.ts';

/** Connects to `url`, runs `sql` and disconnects. */
async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  let postgres: Postgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(async () => {
    await postgres?.destroy();
  });

  it('serves the wharf database on 127.0.0.1 with a password login', async () => {
    const url = new URL(postgres.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(postgres.port);
    expect(url.username).toBe('wharf');
    expect(url.password).not.toBe('');
    expect(url.pathname).toBe('/wharf');
    expect((await query(postgres.url, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const who = await query(postgres.url, 'SELECT current_user AS user, current_database() AS db, inet_server_addr()::text AS addr');
    expect(who.rows).toEqual([{ user: 'wharf', db: 'wharf', addr: '127.0.0.1/32' }]);
    url.password = 'wrong';
    await expect(query(url.href, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });

  it('creates separate databases', async () => {
    const a = await postgres.createDatabase();
    const b = await postgres.createDatabase();
    expect(new URL(a).pathname).toMatch(/^\/wharf_\d+$/);
    expect(a).not.toBe(b);
    await query(a, 'CREATE TABLE only_in_a (id int)');
    expect((await query(a, `SELECT to_regclass('only_in_a') IS NOT NULL AS present`)).rows).toEqual([{ present: true }]);
    expect((await query(b, `SELECT to_regclass('only_in_a') IS NOT NULL AS present`)).rows).toEqual([{ present: false }]);
  });

  it('keeps its data across stop() and start(), on the same port', async () => {
    const db = await postgres.createDatabase();
    await query(db, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before the restart')`);
    await postgres.stop();
    expect(await refuses(postgres.port)).toBe(true);
    await expect(query(db, 'SELECT 1')).rejects.toThrow();
    await postgres.start();
    expect((await query(db, 'SELECT note FROM kept')).rows).toEqual([{ note: 'before the restart' }]);
  });

  it('destroy() stops the server and removes its folder, twice without harm', async () => {
    expect(existsSync(postgres.dir)).toBe(true);
    await postgres.destroy();
    expect(existsSync(postgres.dir)).toBe(false);
    expect(await refuses(postgres.port)).toBe(true);
    await postgres.destroy();
  });
});

import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError } from '../errors.ts';
import { MIGRATIONS, latestVersion, migrate, schemaVersion, type Migration } from './migrations.ts';
import { tempStore, type TempStore } from './testing.ts';

function versions(file: string): { version: number; name: string }[] {
  const db = new DatabaseSync(file);
  try {
    return db.prepare('SELECT version, name FROM schema_version ORDER BY version').all() as { version: number; name: string }[];
  } finally {
    db.close();
  }
}

function thrown(fn: () => unknown): ControlError {
  try {
    fn();
  } catch (err) {
    return err as ControlError;
  }
  throw new Error('expected an error');
}

describe('migrations', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('number the migrations 1, 2, 3 … in order', () => {
    MIGRATIONS.forEach((m, i) => expect(m.version).toBe(i + 1));
    expect(latestVersion()).toBe(MIGRATIONS.length);
  });

  it('apply once to a new file, and not again on reopen', async () => {
    t = tempStore();
    await t.store.close();
    expect(versions(t.file)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    await t.reopen();
    await t.reopen();
    expect(versions(t.file)).toHaveLength(MIGRATIONS.length);
    const db = new DatabaseSync(t.file);
    expect(migrate(db, 0)).toEqual([]);
    expect(schemaVersion(db)).toBe(latestVersion());
    db.close();
  });

  it('put the database in WAL mode', async () => {
    t = tempStore();
    await t.store.close();
    const db = new DatabaseSync(t.file);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
    await t.reopen();
  });

  it('refuse a database written by a newer Wharf, and leave it as it was', async () => {
    t = tempStore();
    await t.store.close();
    const db = new DatabaseSync(t.file);
    db.prepare('INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)').run(latestVersion() + 1, 'from the future', 0);
    db.close();
    const err = await t.reopen().then(() => undefined, (e: unknown) => e as ControlError);
    expect(err?.code).toBe('CTL_STORE_TOO_NEW');
    expect(err?.message).toContain(`schema version ${latestVersion() + 1}`);
    expect(versions(t.file).at(-1)?.version).toBe(latestVersion() + 1);
    t.store = { close: async () => {} } as TempStore['store']; // nothing open to close
  });

  it('roll back every pending migration when one fails', () => {
    const db = new DatabaseSync(':memory:');
    const good: Migration = { version: 1, name: 'one', sql: 'CREATE TABLE one (a INTEGER) STRICT' };
    const also: Migration = { version: 2, name: 'two', sql: 'CREATE TABLE two (a INTEGER) STRICT' };
    const bad: Migration = { version: 3, name: 'three', sql: 'CREATE TABLE three (a INTEGER) STRICT; SELECT * FROM nowhere' };
    expect(migrate(db, 0, [good])).toEqual([1]);
    expect(thrown(() => migrate(db, 0, [good, also, bad])).code).toBe('CTL_STORE_MIGRATION');
    expect(schemaVersion(db)).toBe(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    expect(tables).toEqual(['one', 'schema_version']);
    expect(migrate(db, 0, [good, also])).toEqual([2]);
    db.close();
  });

  it('refuse a list that is out of order', () => {
    const db = new DatabaseSync(':memory:');
    expect(() => migrate(db, 0, [{ version: 2, name: 'two', sql: '' }])).toThrow(/in order/);
    db.close();
  });
});

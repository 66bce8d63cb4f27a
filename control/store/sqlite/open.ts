import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS, migrate, type Migration } from '../migrations.ts';
import { sqlStore, type SqlStoreOptions } from '../sql/sql-store.ts';
import type { Store } from '../store.ts';
import { SqliteSql } from './sqlite-sql.ts';

export interface SqliteStoreOptions extends SqlStoreOptions {
  /** The database file, e.g. `WHARF_HOME/wharf.db`; its folder is created if missing. */
  file: string;
  /** How long a writer waits for another connection's lock before failing, in ms. */
  busyTimeoutMs?: number;
  /** For tests of the migration runner. */
  migrations?: readonly Migration[];
}

const BUSY_TIMEOUT_MS = 5_000; // five seconds

/** Opens the SQLite store: see openSqliteSql. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const sql = openSqliteSql(options);
  return sqlStore(sql, options, async () => sql.close());
}

/**
 * Opens (creating if needed) the SQLite database: WAL journal, foreign keys on, migrations
 * applied. Throws CTL_STORE_TOO_NEW for a database written by a newer Wharf.
 */
export function openSqliteSql(options: Omit<SqliteStoreOptions, keyof SqlStoreOptions> & Pick<SqlStoreOptions, 'clock'>): SqliteSql {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  const raw = new DatabaseSync(options.file, { enableForeignKeyConstraints: true, timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
  // The file holds password and token hashes: owner only. SQLite gives -wal and -shm the same mode.
  if (options.file !== ':memory:') chmodSync(options.file, 0o600);
  const sql = new SqliteSql(raw, options.file === ':memory:' ? options.file : resolve(options.file));
  try {
    // WAL: readers never block the writer and a crash never leaves a half-written page.
    // NORMAL sync is durable across a process crash; an OS crash may lose the last commits, not consistency.
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = NORMAL');
    migrate(raw, options.clock(), options.migrations ?? MIGRATIONS);
  } catch (err) {
    sql.close();
    throw err;
  }
  return sql;
}

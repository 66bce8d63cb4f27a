import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS, migrate, type Migration } from '../migrations.ts';
import type { ScryptCost } from '../passwords.ts';
import type { Clock, Store } from '../store.ts';
import { SqliteAgents } from './agents.ts';
import { SqliteApiTokens } from './api-tokens.ts';
import { SqliteConsole, type ConsoleLimits } from './console.ts';
import { Database } from './database.ts';
import { SqliteGateways } from './gateways.ts';
import { SqliteInstances } from './instances.ts';
import { SqliteJobs } from './jobs.ts';
import { SqliteSessionRevocations } from './session-revocations.ts';
import { SqliteSnapshots } from './snapshots.ts';
import { SqliteUsedLinks } from './used-links.ts';
import { SqliteUsers } from './users.ts';

export interface SqliteStoreOptions {
  /** The database file, e.g. `WHARF_HOME/wharf.db`; its folder is created if missing. */
  file: string;
  /** Milliseconds since the epoch; control passes Date.now, tests a clock they move. */
  clock: Clock;
  /** How long a writer waits for another connection's lock before failing, in ms. */
  busyTimeoutMs?: number;
  /** Lower it in tests only: hashing at the default cost takes about 0.1 s. */
  scryptCost?: ScryptCost;
  console?: ConsoleLimits;
  /** For tests of the migration runner. */
  migrations?: readonly Migration[];
}

const BUSY_TIMEOUT_MS = 5_000; // five seconds

/**
 * Opens (creating if needed) the SQLite store: WAL journal, foreign keys on, migrations
 * applied. Throws CTL_STORE_TOO_NEW for a database written by a newer Wharf.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  const raw = new DatabaseSync(options.file, { enableForeignKeyConstraints: true, timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
  // The file holds password and token hashes: owner only. SQLite gives -wal and -shm the same mode.
  if (options.file !== ':memory:') chmodSync(options.file, 0o600);
  const db = new Database(raw);
  try {
    // WAL: readers never block the writer and a crash never leaves a half-written page.
    // NORMAL sync is durable across a process crash; an OS crash may lose the last commits, not consistency.
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = NORMAL');
    migrate(raw, options.clock(), options.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    users: new SqliteUsers(db, options.clock, options.scryptCost),
    apiTokens: new SqliteApiTokens(db, options.clock),
    agents: new SqliteAgents(db, options.clock),
    gateways: new SqliteGateways(db, options.clock),
    instances: new SqliteInstances(db, options.clock),
    jobs: new SqliteJobs(db),
    snapshots: new SqliteSnapshots(db, options.clock),
    console: new SqliteConsole(db, options.clock, options.console),
    revocations: new SqliteSessionRevocations(db),
    usedLinks: new SqliteUsedLinks(db),
    async close() {
      db.close();
    },
  };
}

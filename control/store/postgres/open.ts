import pg from 'pg';
import { ControlError } from '../../errors.ts';
import type { Migration } from '../migrations.ts';
import { sqlStore, type SqlStoreOptions } from '../sql/sql-store.ts';
import type { Store } from '../store.ts';
import { PostgresChangeFeed } from './change-feed.ts';
import { PostgresLocks } from './locks.ts';
import { POSTGRES_MIGRATIONS, migratePostgres } from './migrations.ts';
import { PostgresSql } from './postgres-sql.ts';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** postgres://user:password@host:port/database (libpq's URL form, `?sslmode=` included). */
  url: string;
  /** Connections in the pool; PostgreSQL's default limit is 100 for every client together. */
  maxConnections?: number;
  /** Told of a pooled connection's error (the server restarted, the network dropped); the pool replaces it. */
  onError?: (err: Error) => void;
  /** For tests of the migration runner. */
  migrations?: readonly Migration[];
}

const POOL_SIZE = 10;
/** How long a query waits for a free pooled connection, and a new connection to open, before failing. */
const CONNECT_TIMEOUT_MS = 10_000;

// BIGINT (20), NUMERIC (1700; COUNT and SUM) arrive as strings: times are milliseconds, far
// below 2⁵³, and counts too, so numbers they are.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/** Opens the PostgreSQL store (see openPostgresSql) with its change feed, which keeps a connection of its own. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { sql, pool, close } = await openPostgresSql(options);
  const changes = new PostgresChangeFeed({ url: options.url, pool, onError: options.onError });
  const locks = new PostgresLocks(options.url, options.onError);
  try {
    await changes.start();
  } catch (err) {
    await close();
    throw new ControlError('CTL_STORE_UNREACHABLE', `cannot listen for changes on PostgreSQL at ${redact(options.url)}: ${(err as Error).message}`, { cause: err });
  }
  return sqlStore(sql, options, close, { changes, locks });
}

/**
 * Opens a pool of connections to the database and applies the migrations. Throws
 * CTL_STORE_UNREACHABLE when the server cannot be reached or refuses the login, and
 * CTL_STORE_TOO_NEW for a database written by a newer Wharf.
 */
export async function openPostgresSql(options: Omit<PostgresStoreOptions, keyof SqlStoreOptions> & Pick<SqlStoreOptions, 'clock'>): Promise<{ sql: PostgresSql; pool: pg.Pool; close: () => Promise<void> }> {
  const pool = new pg.Pool({
    connectionString: options.url, max: options.maxConnections ?? POOL_SIZE, types: types as pg.CustomTypesConfig,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'wharf control',
  });
  // An idle pooled connection that breaks emits here; unheard, it would end the process.
  pool.on('error', (err) => options.onError?.(err));
  try {
    const client = await pool.connect().catch((err: Error) => {
      throw new ControlError('CTL_STORE_UNREACHABLE', `cannot reach PostgreSQL at ${redact(options.url)}: ${err.message}`, { cause: err });
    });
    try {
      await migratePostgres(client, options.clock(), options.migrations ?? POSTGRES_MIGRATIONS);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  return { sql: new PostgresSql(pool), pool, close: () => pool.end() };
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured PostgreSQL URL (it does not parse as a URL)';
  }
}

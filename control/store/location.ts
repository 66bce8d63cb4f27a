import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ScryptCost } from './passwords.ts';
import { openPostgresSql, openPostgresStore, redact } from './postgres/open.ts';
import type { Sql } from './sql/sql.ts';
import { openSqliteSql, openSqliteStore } from './sqlite/open.ts';
import type { Clock, Store } from './store.ts';

/*
 * Where control keeps its state, as `--store` (WHARF_STORE) names it: `sqlite:` (the
 * embedded default, WHARF_HOME/wharf.db), `sqlite:PATH`, or a PostgreSQL URL. `wharf store
 * copy` names its two ends the same way.
 */

export type StoreLocation = { kind: 'sqlite'; file: string | null } | { kind: 'postgres'; url: string };

/** Throws an Error saying what is expected; never repeats the value, which may hold a password. */
export function parseStoreLocation(raw: string): StoreLocation {
  const text = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error('a PostgreSQL store is postgres://USER:PASSWORD@HOST:PORT/DATABASE; this one does not parse as a URL (percent-encode special characters in the password)');
    }
    if (!url.hostname) throw new Error('a PostgreSQL store URL needs a host: postgres://USER:PASSWORD@HOST:PORT/DATABASE');
    return { kind: 'postgres', url: text };
  }
  if (/^sqlite:/i.test(text)) {
    const file = text.slice('sqlite:'.length);
    return { kind: 'sqlite', file: file === '' ? null : file };
  }
  throw new Error(`must be sqlite: (WHARF_HOME/wharf.db), sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, got "${text.split(':')[0]}:…"`);
}

/** For logs and messages: the PostgreSQL URL without its password. */
export function describeStore(location: StoreLocation | undefined, home: string): string {
  if (location?.kind === 'postgres') return redact(location.url);
  return `sqlite:${sqliteFile(location, home)}`;
}

export function sqliteFile(location: StoreLocation | undefined, home: string): string {
  return location?.kind === 'sqlite' && location.file ? location.file : join(home, 'wharf.db');
}

export interface OpenStoreOptions {
  home: string;
  clock: Clock;
  scryptCost?: ScryptCost;
  log: Logger;
}

/** Opens the store at `location` (undefined: the embedded default), migrated to this Wharf's schema. */
export async function openStore(location: StoreLocation | undefined, options: OpenStoreOptions): Promise<Store> {
  const { clock, scryptCost } = options;
  if (location?.kind === 'postgres') return openPostgresStore({ url: location.url, clock, scryptCost, onError: connectionBroke(options.log) });
  return openSqliteStore({ file: sqliteFile(location, options.home), clock, scryptCost });
}

/** The database at `location` as the Sql the stores run on, migrated: what `wharf store copy` reads and writes. */
export async function openSql(location: StoreLocation | undefined, options: Omit<OpenStoreOptions, 'scryptCost'>): Promise<{ sql: Sql; close: () => Promise<void> }> {
  const { clock, log } = options;
  if (location?.kind === 'postgres') {
    return openPostgresSql({ url: location.url, clock, onError: connectionBroke(log) });
  }
  const sql = openSqliteSql({ file: sqliteFile(location, options.home), clock });
  return { sql, close: async () => sql.close() };
}

/** A broken connection is replaced (by the pool, or the change feed) at once or at the next query: worth a warning, no more. */
function connectionBroke(log: Logger): (err: Error) => void {
  return (err) => log.warn({ err: err.message }, 'store: a PostgreSQL connection broke; it will be replaced');
}

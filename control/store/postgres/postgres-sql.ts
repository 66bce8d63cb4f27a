import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ControlError } from '../../errors.ts';
import type { Sql, SqlValue, TransactionOptions } from '../sql/sql.ts';

/*
 * The store's Sql over a node-postgres pool. Statements are written with SQLite's `?`
 * placeholders; they become `$1, $2 …` here, once per statement text.
 *
 * Transactions run SERIALIZABLE: the shared store code reads, checks and writes (a status
 * change, a lease) as it does on SQLite, where one writer at a time makes that safe; here
 * PostgreSQL refuses whichever of two such transactions would break it (SQLSTATE 40001, or
 * 40P01 for a deadlock), and the loser runs again on the new state.
 */

const RETRYABLE = new Set(['40001', '40P01']);
// Sixteen agents and API calls writing instances at once (the bench's preload through two
// controls) made some transactions lose ten times in a row: PostgreSQL's serializable checks
// lock whole small tables, so writers conflict more than their rows do. Thirty attempts with
// pauses growing to a quarter second let every one through.
const ATTEMPTS = 30;
const MAX_PAUSE_MS = 250;

export class PostgresSql implements Sql {
  readonly dialect = 'postgres' as const;
  #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async get<T>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return (await this.#query(sql, params)).rows[0] as T | undefined;
  }

  async all<T>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return (await this.#query(sql, params)).rows as T[];
  }

  async run(sql: string, ...params: SqlValue[]): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }

  #query(sql: string, params: SqlValue[]): Promise<pg.QueryResult> {
    return this.#pool.query(numbered(sql), params).catch((err: unknown) => {
      throw unreachable(err) ?? err;
    });
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect().catch((err: unknown) => {
        throw unreachable(err) ?? err;
      });
      let broken: Error | undefined;
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${options.rowLocks ? 'READ COMMITTED' : 'SERIALIZABLE'}`);
        const result = await fn(onClient(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A client whose ROLLBACK fails is in an unknown state: the pool drops it.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt === ATTEMPTS) throw unreachable(err) ?? err;
      } finally {
        client.release(broken);
      }
      // Jittered, growing pauses: contenders that collided once should not collide again.
      await sleep(Math.random() * Math.min(2 ** attempt, MAX_PAUSE_MS));
    }
  }
}

/** A transaction's Sql: every statement on its one client; a nested transaction joins it. */
function onClient(client: pg.PoolClient): Sql {
  const tx: Sql = {
    dialect: 'postgres',
    get: async (sql, ...params) => (await client.query(numbered(sql), params)).rows[0],
    all: async (sql, ...params) => (await client.query(numbered(sql), params)).rows,
    run: async (sql, ...params) => (await client.query(numbered(sql), params)).rowCount ?? 0,
    transaction: (fn) => fn(tx),
  };
  return tx;
}

/** Node's codes of a connection that could not be made or broke. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * CTL_STORE_UNREACHABLE (503) for an error that says the database is away rather than that a
 * statement is wrong: no connection, one that broke, a server shutting down or starting up
 * (SQLSTATE class 08, 57P01–57P03). Requests then get a clear "try again", not a 500.
 */
function unreachable(err: unknown): ControlError | undefined {
  if (err instanceof ControlError) return undefined;
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  const away = CONNECTION_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)
    || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(e?.message ?? '');
  return away ? new ControlError('CTL_STORE_UNREACHABLE', `PostgreSQL: ${e?.message ?? code}`, { cause: err }) : undefined;
}

const converted = new Map<string, string>();

/** `?` placeholders as `$1, $2 …`; a `?` inside a quoted literal or identifier stays. */
export function numbered(sql: string): string {
  let text = converted.get(sql);
  if (text !== undefined) return text;
  let n = 0;
  let quote: string | null = null;
  text = '';
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      text += `$${++n}`;
      continue;
    }
    text += ch;
  }
  converted.set(sql, text);
  return text;
}

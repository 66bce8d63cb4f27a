import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Sql, SqlValue } from '../sql/sql.ts';

interface Gate {
  /** Settles when the open transaction ends; undefined while none is open. */
  open: Promise<void> | undefined;
  connections: number;
}

const gates = new Map<string, Gate>();

/**
 * The store's Sql over one node:sqlite connection, with cached prepared statements.
 *
 * node:sqlite answers synchronously, but a transaction's body is async (it is shared with
 * PostgreSQL): while one is open, every other call on this connection waits for it to end,
 * since anything run on the connection meanwhile would land inside it. So does every call on
 * another connection to the same file in this thread: its wait for SQLite's write lock would
 * block the thread, and with it the transaction that holds the lock. BEGIN IMMEDIATE takes
 * the file's write lock before the first read, so another process cannot interleave either.
 */
export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  readonly db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  /** Shared by this thread's connections to the file. */
  #gate: Gate;
  #file: string;
  /** What a transaction's body runs on: the connection, without waiting for itself. */
  #inside: Sql;

  /** `file`: the database's path, which names the gate its connections share (':memory:' shares none). */
  constructor(db: DatabaseSync, file: string) {
    this.db = db;
    this.#file = file;
    this.#gate = file === ':memory:' ? { open: undefined, connections: 1 } : gates.get(file) ?? { open: undefined, connections: 0 };
    if (file !== ':memory:') {
      this.#gate.connections += 1;
      gates.set(file, this.#gate);
    }
    this.#inside = {
      dialect: 'sqlite',
      get: async (sql, ...params) => this.#get(sql, params),
      all: async (sql, ...params) => this.#all(sql, params),
      run: async (sql, ...params) => this.#run(sql, params),
      transaction: (fn) => fn(this.#inside),
    };
  }

  async get<T>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    while (this.#gate.open) await this.#gate.open;
    return this.#get(sql, params);
  }

  async all<T>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    while (this.#gate.open) await this.#gate.open;
    return this.#all(sql, params);
  }

  async run(sql: string, ...params: SqlValue[]): Promise<number> {
    while (this.#gate.open) await this.#gate.open;
    return this.#run(sql, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    // Check and take in one synchronous step: no other waiter can slip in between.
    while (this.#gate.open) await this.#gate.open;
    let end!: () => void;
    this.#gate.open = new Promise((resolve) => (end = resolve));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#inside);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.#gate.open = undefined;
      end();
    }
  }

  close(): void {
    this.#statements.clear();
    if (!this.db.isOpen) return;
    this.db.close();
    if (--this.#gate.connections === 0) gates.delete(this.#file);
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get<T>(sql: string, params: SQLInputValue[]): T | undefined {
    return this.#prepare(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, params: SQLInputValue[]): T[] {
    return this.#prepare(sql).all(...params) as T[];
  }

  #run(sql: string, params: SQLInputValue[]): number {
    return Number(this.#prepare(sql).run(...params).changes);
  }
}

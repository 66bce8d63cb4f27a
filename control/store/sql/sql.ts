/*
 * What the store's tables are written against: a few async calls that SQLite
 * (`sqlite/sqlite-sql.ts`) and PostgreSQL (`postgres/postgres-sql.ts`) both answer, so that
 * one implementation of each store serves both and the two cannot drift. Statements use `?`
 * placeholders and the SQL the two share; the few places where they differ ask `dialect`.
 */

export type SqlValue = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Sql {
  readonly dialect: Dialect;
  get<T>(sql: string, ...params: SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, ...params: SqlValue[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, ...params: SqlValue[]): Promise<number>;
  /**
   * Runs `fn` in one transaction that no other writer interleaves with: a read-check-write
   * inside it holds. `fn` must use the `tx` it is given, never the outer Sql (which waits for
   * the transaction to end); a `tx.transaction` inside simply joins it. PostgreSQL may run
   * `fn` again after a serialization failure, so `fn` has no effect outside the database.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export interface TransactionOptions {
  /**
   * The transaction locks the rows it reads for writing (`forUpdate`) instead of being checked
   * whole for serializability: for hot rows that many writers change at once (a metrics point
   * that two gateways report into through two controls), which under SERIALIZABLE would abort
   * and retry each other in turn. PostgreSQL runs it READ COMMITTED; SQLite has one writer anyway.
   */
  rowLocks?: boolean;
}

/** ` FOR UPDATE` where the database locks rows on read (PostgreSQL), else nothing: for `rowLocks` transactions. */
export function forUpdate(sql: Sql): string {
  return sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
}

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** True when `err` is the database refusing a duplicate in a UNIQUE or PRIMARY KEY column. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errcode?: number; message?: string };
  // PostgreSQL 23505 unique_violation; SQLite 2067 SQLITE_CONSTRAINT_UNIQUE, 1555 SQLITE_CONSTRAINT_PRIMARYKEY
  return e?.code === '23505' || e?.errcode === 2067 || e?.errcode === 1555 || /UNIQUE constraint failed/.test(e?.message ?? '');
}

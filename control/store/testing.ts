import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAppConfig, type AppConfig } from '../../protocol/app-config.ts';
import { parseLaunchSpec, type LaunchSpec } from '../../protocol/launch-spec.ts';
import type { Store } from './store.ts';
import type { Sql } from './sql/sql.ts';
import { openSqliteSql, openSqliteStore, type SqliteStoreOptions } from './sqlite/open.ts';

/*
 * Helpers for the store's tests (and the bench): a real SQLite file in a temp folder, a clock
 * tests move, fixtures. Both backends for the contract suite: store-backends.ts.
 */

/** Cheap enough for tests (about 1 ms a hash); production uses DEFAULT_SCRYPT_COST. */
export const TEST_SCRYPT_COST = { N: 2 ** 10, r: 8, p: 1 };

export class ManualClock {
  now: number;
  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }
  readonly read = (): number => this.now;
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
}

/** A store on a database of its own, on either backend. */
export interface TestStore {
  clock: ManualClock;
  store: Store;
  /** Closes and opens the same database again, as a control restart does. */
  reopen(): Promise<Store>;
  /** Opens a second connection to the same database, as a second control would. */
  openAnother(): Promise<Store>;
  /** A connection of its own to the database, below the store: rows as they are. */
  sql(): Promise<Sql>;
  cleanup(): Promise<void>;
}

/** A SQLite store in a temp folder. */
export interface TempStore extends TestStore {
  dir: string;
  file: string;
}

export function tempStore(options: Partial<SqliteStoreOptions> = {}): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-store-'));
  const file = join(dir, 'wharf.db');
  const clock = new ManualClock();
  const open = () => openSqliteStore({ file, clock: clock.read, scryptCost: TEST_SCRYPT_COST, ...options });
  const others: { close(): unknown }[] = [];
  const t: TempStore = {
    dir, file, clock, store: open(),
    async sql() {
      const sql = openSqliteSql({ file, clock: clock.read });
      others.push(sql);
      return sql;
    },
    async reopen() {
      await t.store.close();
      t.store = open();
      return t.store;
    },
    async openAnother() {
      const other = open();
      others.push(other);
      return other;
    },
    async cleanup() {
      for (const other of others) await other.close();
      await t.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export function testConfig(overrides: Record<string, unknown> = {}): AppConfig {
  return parseAppConfig({ app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 }, ...overrides });
}

export function testSpec(): LaunchSpec {
  return parseLaunchSpec({
    app: 'container', image: 'wharf/busybox:local', argv: ['httpd', '-f', '-p', '8080'], workdir: null, env: {}, files: [],
    ports: [{ port: 8080, routing: 'https' }], workspace: { path: '/root/workspace', restoreFrom: null, exclude: [] },
    readiness: { kind: 'http', port: 8080, path: '/' }, activity: { kind: 'none' }, limits: { memory: null, nanoCpus: null },
    labels: {}, docker: { HostConfig: {} }, hostAccess: [],
  });
}

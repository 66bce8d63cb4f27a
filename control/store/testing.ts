import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAppConfig, type AppConfig } from '../../protocol/app-config.ts';
import { parseLaunchSpec, type LaunchSpec } from '../../protocol/launch-spec.ts';
import type { Store } from './store.ts';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/open.ts';

/* Helpers for the store's tests: a real SQLite file in a temp folder, a clock tests move, fixtures. */

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

export interface TempStore {
  dir: string;
  file: string;
  clock: ManualClock;
  store: Store;
  /** Closes and opens the same file again, as a control restart does. */
  reopen(): Promise<Store>;
  /** Opens a second connection to the same file, as a second process would. */
  openAnother(): Store;
  cleanup(): Promise<void>;
}

export function tempStore(options: Partial<SqliteStoreOptions> = {}): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-store-'));
  const file = join(dir, 'wharf.db');
  const clock = new ManualClock();
  const open = () => openSqliteStore({ file, clock: clock.read, scryptCost: TEST_SCRYPT_COST, ...options });
  const others: Store[] = [];
  const t: TempStore = {
    dir, file, clock, store: open(),
    async reopen() {
      await t.store.close();
      t.store = open();
      return t.store;
    },
    openAnother() {
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

import { afterAll } from 'vitest';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { openPostgresSql, openPostgresStore } from './postgres/open.ts';
import type { ConsoleLimits } from './sql/console.ts';
import { ManualClock, TEST_SCRYPT_COST, tempStore, type TestStore } from './testing.ts';

/* The store's two backends for its tests; vitest's hooks stop the PostgreSQL cluster. */

export interface StoreBackend {
  name: 'SQLite' | 'PostgreSQL';
  open(options?: { console?: ConsoleLimits }): Promise<TestStore>;
}

/**
 * Both backends, for the contract suite: every case runs on each (`describe.each`), so the two
 * cannot drift. PostgreSQL: one cluster per test file, started at the first case that needs it
 * and stopped after the file; a fresh database per case.
 */
export function storeBackends(): StoreBackend[] {
  let cluster: Promise<Postgres> | undefined;
  afterAll(async () => {
    if (cluster) await (await cluster).destroy();
  });
  return [
    { name: 'SQLite', open: async (options) => tempStore(options) },
    {
      name: 'PostgreSQL',
      async open(options = {}) {
        cluster ??= startPostgres();
        const url = await (await cluster).createDatabase();
        const clock = new ManualClock();
        const open = () => openPostgresStore({ url, clock: clock.read, scryptCost: TEST_SCRYPT_COST, ...options });
        const others: { close(): unknown }[] = [];
        const t: TestStore = {
          clock, store: await open(),
          async sql() {
            const raw = await openPostgresSql({ url, clock: clock.read });
            others.push(raw);
            return raw.sql;
          },
          async reopen() {
            await t.store.close();
            t.store = await open();
            return t.store;
          },
          async openAnother() {
            const other = await open();
            others.push(other);
            return other;
          },
          async cleanup() {
            for (const other of others) await other.close();
            await t.store.close();
          },
        };
        return t;
      },
    },
  ];
}


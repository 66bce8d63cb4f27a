import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRoute, type Route } from '../../../protocol/route.ts';
import { storeBackends } from '../store-backends.ts';
import type { TestStore } from '../testing.ts';

const backends = storeBackends();
const route = (id: string, port = 1): Route => parseRoute({ id, target: `http://10.0.0.1:${port}`, headers: { 'x-wharf-user': 'ada' } });

describe.each(backends)('$name shared route table', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('numbers each change that changes the table, one after the other, and reads back the same table', async () => {
    const table = t.store.routeTable;
    const empty = await table.read();
    expect(empty).toMatchObject({ version: 0, routes: [] });
    expect(empty.epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(await table.apply({ upsert: [route('a'), route('b')] })).toBe(1);
    // The same routes (keys in another order), and a removal of an unknown id: nothing to number.
    const reordered = Object.fromEntries(Object.entries(route('a')).reverse()) as Route;
    expect(await table.apply({ upsert: [reordered], remove: ['nope'] })).toBe('unchanged');
    expect(await table.apply({ upsert: [route('a', 2)], remove: ['b'] })).toBe(2);
    // An id both removed and upserted unchanged stays.
    expect(await table.apply({ upsert: [route('a', 2)], remove: ['a'] })).toBe('unchanged');
    expect(await table.since(0)).toEqual([
      { version: 1, upsert: [route('a'), route('b')], remove: [] },
      { version: 2, upsert: [route('a', 2)], remove: ['b'] },
    ]);
    expect(await table.since(2)).toEqual([]);
    expect(await table.since(3)).toBeUndefined();
    // Another store on the same database (another control) reads the same table, version and epoch.
    const other = await t.openAnother();
    expect(await other.routeTable.read()).toEqual({ epoch: empty.epoch, version: 2, routes: [route('a', 2)] });
  });

  it('writes a comparison only while the table is at the version it was made against', async () => {
    const table = t.store.routeTable;
    await table.apply({ upsert: [route('a')] });
    expect(await table.apply({ upsert: [route('a', 3)] }, { ifVersion: 0 })).toBe('moved');
    expect((await table.read()).routes).toEqual([route('a')]);
    expect(await table.apply({ upsert: [route('a', 3)] }, { ifVersion: 1 })).toBe(2);
  });

  it('keeps the newest changes only: a version older than those is told to read the whole table', async () => {
    const table = t.store.routeTable;
    // Cheaper than 10,000 changes: the oldest kept ones are dropped as in a long run.
    for (let i = 1; i <= 3; i++) await table.apply({ upsert: [route('a', i)] });
    const sql = await t.sql();
    await sql.run('DELETE FROM route_changes WHERE version <= ?', 1);
    expect(await table.since(0)).toBeUndefined();
    expect((await table.since(1))?.map((c) => c.version)).toEqual([2, 3]);
  });

  it('gives writers through several stores at once consecutive versions, each change once', async () => {
    const stores = [t.store, await t.openAnother(), await t.openAnother()];
    await Promise.all(stores.flatMap((s, k) => Array.from({ length: 10 }, (_, i) => s.routeTable.apply({ upsert: [route(`r${k}-${i}`)] }))));
    const changes = (await t.store.routeTable.since(0))!;
    expect(changes.map((c) => c.version)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(changes.flatMap((c) => c.upsert.map((r) => r.id))).size).toBe(30);
    expect((await t.store.routeTable.read()).routes).toHaveLength(30);
  });
});

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { NO_FEED } from '../store/change-feed.ts';
import { tempStore, type TestStore } from '../store/testing.ts';
import type { RouteDelta } from './route-log.ts';
import { SharedRouteLog } from './shared-route-log.ts';

const route = (id: string, port = 1): Route => parseRoute({ id, target: `http://10.0.0.1:${port}` });
const silent = pino({ level: 'silent' });

// The route log of controls sharing a store, on a real store (SQLite here: the table's SQL is
// the same on PostgreSQL, where follow-other-controls.test.ts runs two of them).
describe('SharedRouteLog', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await tempStore();
  });
  afterEach(() => t.cleanup());

  it('writes each change to the store first, in order, and applies it as the store numbered it', async () => {
    const log = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    const seen: number[] = [];
    log.subscribe((d) => seen.push(d.version));
    expect(log.upsert(route('a'))).toBeUndefined(); // the delta comes once read back
    log.upsert(route('b'));
    log.upsert(route('a', 2));
    log.remove('b');
    log.upsert(route('a', 2)); // no change: no version
    await log.settled();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(log.snapshot()).toEqual({ version: 4, epoch: (await t.store.routeTable.read()).epoch, routes: [route('a', 2)] });
    // A control started later begins at the store's version with its table, under the same epoch.
    const later = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    expect(later.snapshot()).toEqual(log.snapshot());
    expect(later.since(3)).toBeUndefined(); // it never had those deltas: a gateway from there gets a snapshot
  });

  it('catches up with changes written through another control, and reads the whole table when they are gone', async () => {
    const a = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    const b = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    const deltas: RouteDelta[] = [];
    b.subscribe((d) => deltas.push(d));
    a.upsert(route('a'));
    a.upsert(route('b'));
    await a.settled();
    await b.catchUp();
    expect(deltas.map((d) => d.line)).toEqual(a.since(0)!.map((d) => d.line));
    // b falls behind by more than the store keeps: it reads the whole table, and its followers see a jump.
    a.upsert(route('c'));
    a.remove('a');
    await a.settled();
    await (await t.sql()).run('DELETE FROM route_changes');
    await b.catchUp();
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(deltas.at(-1)).toMatchObject({ version: 4, upsert: [route('c')], remove: ['a'] });
    expect(b.since(2)).toBeUndefined();
  });

  it('writes a comparison only while the table is still at the version it was made against', async () => {
    const a = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    a.upsert(route('a'));
    await a.settled();
    const b = await SharedRouteLog.open(t.store.routeTable, NO_FEED, silent);
    a.upsert(route('a', 2));
    await a.settled();
    // b compared with its table at version 1, older than the store's now.
    expect(await b.reconcile({ upsert: [route('a', 9)], remove: [] }, 1)).toBe('moved');
    await b.catchUp();
    expect(await b.reconcile({ upsert: [route('a', 9)], remove: [] }, b.version)).toBe('done');
    await a.catchUp();
    expect(a.get('a')).toEqual(route('a', 9));
  });
});

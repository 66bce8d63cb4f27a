import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { UpstreamPools } from '../proxy/upstream-pools.ts';
import { FOLD_DELAY_MS, LiveRoutes } from './live-routes.ts';
import { RouteTable } from './route-table.ts';

const http = (id: string, port = 1, extra: object = {}) => parseRoute({ id, target: `http://127.0.0.1:${port}`, ...extra });
const many = (n: number) => Array.from({ length: n }, (_, i) => http(`r${i}`, 1 + (i % 50)));

describe('LiveRoutes: incremental changes', () => {
  let pools: UpstreamPools;
  let live: LiveRoutes;
  const start = (routes: Route[]) => {
    pools = new UpstreamPools({ connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, connections: 1 });
    live = new LiveRoutes(pools);
    live.apply(routes);
  };
  afterEach(async () => {
    vi.useRealTimers();
    live.close();
    await pools.close();
  });

  it('adds a route to a large table, keeping every other route\'s object and the old table intact', () => {
    const routes = many(5_000);
    start(routes);
    const t1 = live.table;
    const r0 = t1.get('r0');
    const change = live.apply([...routes, http('new', 9)]);
    expect(change.added.map((l) => l.route.id)).toEqual(['new']);
    expect([change.removed, change.changed]).toEqual([[], []]);
    expect(live.table.get('new')!.route.target).toBe('http://127.0.0.1:9');
    expect(live.table.get('r0')).toBe(r0);
    expect(live.table.size).toBe(5_001);
    expect(live.table.version).toBe(t1.version + 1);
    // The table handed out before is a snapshot: it does not see the change.
    expect(t1.get('new')).toBeUndefined();
    expect(t1.size).toBe(5_000);
  });

  it('replaces a route: new object for it, stats kept, the others untouched', () => {
    const routes = many(1_000);
    start(routes);
    const before = live.table.get('r5')!;
    const other = live.table.get('r6')!;
    const next = routes.map((r) => (r.id === 'r5' ? http('r5', 77) : r));
    const change = live.apply(next);
    expect(change.changed).toHaveLength(1);
    expect(change.changed[0][0]).toBe(before);
    const after = live.table.get('r5')!;
    expect(after).not.toBe(before);
    expect(after.route.target).toBe('http://127.0.0.1:77');
    expect(after.record).toBe(before.record);
    expect(live.table.get('r6')).toBe(other);
    expect([...live.table.values()].filter((l) => l.route.id === 'r5')).toEqual([after]);
    // An equal definition in a new object is not a change.
    expect(live.apply(next.map((r) => (r.id === 'r6' ? http('r6', 7) : r))).changed).toEqual([]);
  });

  it('removes a route and closes its live connections, leaving the others\' open', () => {
    const routes = many(1_000);
    start(routes);
    const gone = new PassThrough();
    const stays = new PassThrough();
    live.table.get('r3')!.record.connections.add(gone);
    live.table.get('r4')!.record.connections.add(stays);
    const change = live.apply(routes.filter((r) => r.id !== 'r3'));
    expect(change.removed.map((l) => l.route.id)).toEqual(['r3']);
    expect(gone.destroyed).toBe(true);
    expect(stays.destroyed).toBe(false);
    expect(live.table.get('r3')).toBeUndefined();
    expect(live.table.size).toBe(999);
    expect([...live.table.values()]).toHaveLength(999);
  });

  it('update() applies a delta without the whole list', () => {
    start(many(100));
    const r1 = live.table.get('r1');
    const conn = new PassThrough();
    live.table.get('r2')!.record.connections.add(conn);
    const change = live.update([http('x'), http('r0', 5)], ['r2', 'nope']);
    expect(change.added.map((l) => l.route.id)).toEqual(['x']);
    expect(change.changed.map(([b, a]) => [b.route.id, a.route.target])).toEqual([['r0', 'http://127.0.0.1:5']]);
    expect(change.removed.map((l) => l.route.id)).toEqual(['r2']);
    expect(conn.destroyed).toBe(true);
    expect(live.table.get('r1')).toBe(r1);
    expect(live.table.size).toBe(100);
    expect(() => live.update([http('y')], ['y'])).toThrow(/both/);
  });

  it('layers changes and folds them later into the same routes and version', () => {
    vi.useFakeTimers();
    const routes = many(2_000);
    start(routes);
    expect(live.table.layered).toBe(false); // a first load of many routes is folded at once
    live.apply([...routes.slice(1), http('a')]);
    const layered = live.table;
    expect(layered.layered).toBe(true);
    vi.advanceTimersByTime(FOLD_DELAY_MS);
    const folded = live.table;
    expect(folded).not.toBe(layered);
    expect(folded.layered).toBe(false);
    expect(folded.version).toBe(layered.version);
    expect(folded.size).toBe(layered.size);
    expect([...folded.values()].map((l) => l.route.id).sort()).toEqual([...layered.values()].map((l) => l.route.id).sort());
    for (const l of layered.values()) expect(folded.get(l.route.id)).toBe(l);
    expect(folded.get('r0')).toBeUndefined();
  });

  it('holds an app that is starting without an upstream, then its routed replacement with the same stats', () => {
    start([]);
    const acquired = vi.spyOn(pools, 'acquire');
    live.update([parseRoute({ id: 's1', status: 'starting' })]);
    const starting = live.table.get('s1')!;
    expect(starting.route.status).toBe('starting');
    expect('upstream' in starting).toBe(false);
    expect(acquired).not.toHaveBeenCalled();
    const change = live.update([http('s1', 7)]);
    expect(change.changed.map(([before]) => before)).toEqual([starting]);
    const ready = live.table.get('s1')!;
    expect(ready.record).toBe(starting.record);
    expect('upstream' in ready).toBe(true);
    expect(acquired).toHaveBeenCalledWith('http://127.0.0.1:7');
    // Gone before it was ready: removing a route without an upstream releases no pool.
    live.update([parseRoute({ id: 's2', status: 'starting' })]);
    expect(() => live.update([], ['s2'])).not.toThrow();
    expect(live.table.get('s2')).toBeUndefined();
  });

  it('a repeated id in apply(): the last one wins', () => {
    start([http('a', 1)]);
    live.apply([http('a', 2), http('a', 3), http('b', 1), http('b', 4)]);
    expect(live.table.get('a')!.route.target).toBe('http://127.0.0.1:3');
    expect(live.table.get('b')!.route.target).toBe('http://127.0.0.1:4');
    expect(live.table.size).toBe(2);
  });
});

describe('RouteTable.with', () => {
  const e = (id: string, port = 1) => ({ route: http(id, port) });

  it('matches a table built from scratch through any run of adds, replaces and removes', () => {
    let table = new RouteTable([e('a'), e('b'), e('c')], 1);
    const model = new Map(['a', 'b', 'c'].map((id) => [id, table.get(id)!]));
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let step = 0; step < 600; step++) {
      const changes = new Map<string, { route: Route } | null>();
      for (let k = rand(4); k >= 0; k--) {
        const id = `h${rand(300)}`;
        if (rand(3) === 0) changes.set(id, null);
        else changes.set(id, e(id, 1 + rand(9)));
      }
      const before = table;
      const beforeIds = [...before.values()].map((x) => x.route.id).sort();
      table = table.with(changes);
      for (const [id, x] of changes) {
        if (x === null) model.delete(id);
        else model.set(id, x);
      }
      expect([...before.values()].map((x) => x.route.id).sort()).toEqual(beforeIds);
      expect(table.size).toBe(model.size);
      expect([...model].filter(([id, x]) => table.get(id) !== x)).toEqual([]);
      expect([...table.values()].length).toBe(model.size);
      if (step % 100 === 99) table = table.compact();
    }
  });
});

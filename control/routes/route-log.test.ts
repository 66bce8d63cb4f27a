import { describe, expect, it } from 'vitest';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { parseRouteStreamLine } from '../../protocol/route-stream.ts';
import { canonicalJson, RouteLog, type RouteDelta } from './route-log.ts';

const route = (id: string, port = 1): Route => parseRoute({ id, target: `http://127.0.0.1:${port}` });

describe('RouteLog', () => {
  it('counts a version for every effective change and none for a no-op', () => {
    const log = new RouteLog();
    expect(log.version).toBe(0);
    expect(log.upsert(route('a'))?.version).toBe(1);
    expect(log.upsert(route('a'))).toBeUndefined();
    // The same route with its keys in another order is the same route.
    const reordered = Object.fromEntries(Object.entries(route('a')).reverse()) as Route;
    expect(log.upsert(reordered)).toBeUndefined();
    expect(log.upsert(route('a', 2))?.version).toBe(2);
    expect(log.remove('nope')).toBeUndefined();
    expect(log.remove('a')?.version).toBe(3);
    expect(log.remove('a')).toBeUndefined();
    expect(log.version).toBe(3);
    expect(log.size).toBe(0);
  });

  it('keeps its own copies of routes', () => {
    const log = new RouteLog();
    const r = route('a');
    log.upsert(r);
    (r as { target: string }).target = 'http://127.0.0.1:9';
    expect(log.get('a')?.target).toBe('http://127.0.0.1:1');
    (log.snapshot().routes[0] as { status: string }).status = 'starting';
    expect(log.get('a')?.status).toBe('active');
  });

  it('gives the deltas since a version, or undefined when that is not possible', () => {
    const log = new RouteLog({ capacity: 3 });
    for (let i = 0; i < 5; i++) log.upsert(route(`r${i}`));
    expect(log.version).toBe(5);
    expect(log.since(5)).toEqual([]);
    expect(log.since(4)?.map((d) => d.version)).toEqual([5]);
    expect(log.since(2)?.map((d) => d.version)).toEqual([3, 4, 5]);
    expect(log.since(1)).toBeUndefined(); // delta 2 is no longer kept
    expect(log.since(6)).toBeUndefined(); // a version of another history (control restarted)
    expect(log.since(-1)).toBeUndefined();
    expect(log.since(2.5)).toBeUndefined();
  });

  it('bounds the routes its deltas hold, whatever their count', () => {
    const log = new RouteLog({ capacity: 100, maxRoutes: 5 });
    log.replace([route('a'), route('b'), route('c')]); // one delta of 3
    log.upsert(route('d'));
    log.upsert(route('e'));
    expect(log.since(1)?.map((d) => d.version)).toEqual([2, 3]);
    log.upsert(route('f')); // 3 + 1 + 1 + 1 > 5: the first delta goes
    expect(log.since(0)).toBeUndefined();
    expect(log.since(1)?.map((d) => d.version)).toEqual([2, 3, 4]);
  });

  it('delivers each change to subscribers, in order, with its encoded line', () => {
    const log = new RouteLog();
    const seen: RouteDelta[] = [];
    const unsubscribe = log.subscribe((d) => seen.push(d));
    log.upsert(route('a'));
    log.change({ upsert: [route('b'), route('c')], remove: ['a'] });
    unsubscribe();
    log.remove('b');
    expect(seen.map((d) => [d.version, d.upsert.map((r) => r.id), d.remove])).toEqual([[1, ['a'], []], [2, ['b', 'c'], ['a']]]);
    expect(parseRouteStreamLine(seen[1].line.trim())).toEqual({ type: 'delta', version: 2, upsert: [route('b'), route('c')], remove: ['a'], errors: [] });
    expect(log.subscribers).toBe(0);
  });

  it('applies a batch as one version: removes first, the last upsert of an id wins, unchanged ones are left out', () => {
    const log = new RouteLog();
    log.replace([route('a'), route('b')]);
    const d = log.change({ upsert: [route('a'), route('c', 1), route('c', 2), route('b')], remove: ['b', 'zz'] });
    expect(d?.upsert.map((r) => [r.id, r.target])).toEqual([['c', 'http://127.0.0.1:2']]);
    expect(d?.remove).toEqual([]);
    expect(log.snapshot().routes.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('replaces the whole table with one delta', () => {
    const log = new RouteLog();
    log.replace([route('a'), route('b')]);
    const d = log.replace([route('b', 2), route('c')]);
    expect(d?.version).toBe(2);
    expect(d?.remove).toEqual(['a']);
    expect(d?.upsert.map((r) => r.id)).toEqual(['b', 'c']);
    expect(log.replace([route('b', 2), route('c')])).toBeUndefined();
  });

  it('encodes its snapshot as a stream line', () => {
    const log = new RouteLog({ epoch: 'fixed' });
    log.upsert(route('a'));
    expect(parseRouteStreamLine(log.snapshotLine().trim())).toEqual({ type: 'snapshot', version: 1, epoch: 'fixed', routes: [route('a')], errors: [] });
  });

  it('names each history with its own epoch', () => {
    expect(new RouteLog().epoch).not.toBe(new RouteLog().epoch);
    expect(new RouteLog().epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('still tells the other subscribers when one throws, then surfaces the error', () => {
    const log = new RouteLog();
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error('listener bug');
    });
    log.subscribe((d) => seen.push(d.version));
    expect(() => log.upsert(route('a'))).toThrow('listener bug');
    expect(seen).toEqual([1]);
    expect(log.version).toBe(1);
  });

  it('compares routes by content, not key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: 2 } })).toBe('{"a":{"c":2,"d":[1,{"e":2,"f":1}]},"b":1}');
  });
});

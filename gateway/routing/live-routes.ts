import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HttpRoute, Route, TcpRoute } from '../../protocol/route.ts';
import { RouteStats } from '../metrics/route-stats.ts';
import type { UpstreamPools } from '../proxy/upstream-pools.ts';
import { RouteTable } from './route-table.ts';

/** What lives as long as a route id exists: its stats and its live long-lived connections. */
export class RouteRecord {
  readonly stats: RouteStats;
  /** WebSocket and TCP connections, closed when the route is removed. */
  readonly connections = new Set<Duplex>();
  constructor(id: string) {
    this.stats = new RouteStats(id);
  }
}

/** An HTTP route ready for the request path: everything derivable is derived once here. */
export interface LiveHttpRoute {
  readonly route: HttpRoute;
  readonly record: RouteRecord;
  readonly upstream: Dispatcher;
  /** Lower-case names of the route's own headers: a client's header of that name is dropped. */
  readonly headerNames: ReadonlySet<string>;
  /** The route's headers as [name, value, …], appended upstream. */
  readonly headerList: readonly string[];
}

export interface LiveTcpRoute {
  readonly route: TcpRoute;
  readonly record: RouteRecord;
}

export type LiveRoute = LiveHttpRoute | LiveTcpRoute;

export interface TableChange {
  table: RouteTable<LiveRoute>;
  added: LiveRoute[];
  removed: LiveRoute[];
  /** Same id, new definition: [before, after]. */
  changed: [LiveRoute, LiveRoute][];
}

/**
 * Turns desired routes into the live table and swaps it in one assignment. Unchanged routes
 * keep their objects (and so their pools and connections); a removed route's live
 * connections are closed; stats survive a change of definition.
 */
export class LiveRoutes {
  #table = new RouteTable<LiveRoute>();
  readonly #records = new Map<string, RouteRecord>();
  readonly #pools: UpstreamPools;
  readonly #listeners: ((change: TableChange) => void)[] = [];

  constructor(pools: UpstreamPools) {
    this.#pools = pools;
  }

  get table(): RouteTable<LiveRoute> {
    return this.#table;
  }

  onChange(listener: (change: TableChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Every route's stats, for metrics. */
  stats(): Iterable<RouteStats> {
    return [...this.#records.values()].map((r) => r.stats);
  }

  apply(routes: Route[]): TableChange {
    const old = this.#table;
    const next: LiveRoute[] = [];
    const added: LiveRoute[] = [];
    const changed: [LiveRoute, LiveRoute][] = [];
    const keep = new Set<string>();
    for (const route of routes) {
      keep.add(route.id);
      const before = old.get(route.id);
      // Providers hand back the same objects for unchanged routes: no need to compare those.
      if (before && (before.route === route || sameRoute(before.route, route))) {
        next.push(before);
        continue;
      }
      const live = this.#build(route);
      next.push(live);
      if (before) changed.push([before, live]);
      else added.push(live);
    }
    const removed = [...old.values()].filter((l) => !keep.has(l.route.id));
    this.#table = new RouteTable(next, old.version + 1);
    for (const [before] of changed) this.#release(before);
    for (const live of removed) {
      this.#release(live);
      const record = this.#records.get(live.route.id);
      this.#records.delete(live.route.id);
      for (const socket of record?.connections ?? []) socket.destroy();
    }
    const change = { table: this.#table, added, removed, changed };
    for (const l of this.#listeners) l(change);
    return change;
  }

  close(): void {
    this.apply([]);
  }

  #build(route: Route): LiveRoute {
    let record = this.#records.get(route.id);
    if (!record) this.#records.set(route.id, (record = new RouteRecord(route.id)));
    if (route.kind === 'tcp') return { route, record };
    const headerList = Object.entries(route.headers).flat();
    return {
      route,
      record,
      upstream: this.#pools.acquire(route.target),
      headerNames: new Set(Object.keys(route.headers).map((h) => h.toLowerCase())),
      headerList,
    };
  }

  #release(live: LiveRoute): void {
    if (live.route.kind === 'http') this.#pools.release(live.route.target);
  }
}

function sameRoute(a: Route, b: Route): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

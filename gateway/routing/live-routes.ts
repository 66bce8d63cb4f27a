import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HttpRoute, Route, StartingRoute, TcpRoute } from '../../protocol/route.ts';
import { RouteStats } from '../metrics/route-stats.ts';
import type { UpstreamPools } from '../proxy/upstream-pools.ts';
import { RouteTable } from './route-table.ts';

/** What lives as long as a route id exists: its stats and its live long-lived connections. */
export class RouteRecord {
  readonly stats: RouteStats;
  /** WebSocket and TCP connections, closed when the route is removed. */
  readonly connections = new Set<Duplex>();
  /** LiveRoutes' mark of the last apply() whose routes named this id (its removal check). */
  seen = 0;
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

/** An app that is starting and has no upstream yet: known (503 "setting up"), never proxied. */
export interface LiveStartingRoute {
  readonly route: StartingRoute;
  readonly record: RouteRecord;
}

export type LiveRoute = LiveHttpRoute | LiveStartingRoute | LiveTcpRoute;

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
 *
 * A change costs what changed, not the table's size: the new table is the old one with
 * the changed entries layered on top (RouteTable.with), and the layers are folded into one
 * Map a while later (FOLD_DELAY_MS), off the path of the change, so that a burst of changes
 * pays for one fold. apply() is handed the whole desired list (both providers deliver
 * that), so it still walks it once, but only to compare object identity: a Map lookup per
 * route, nothing allocated or copied per unchanged route. update() takes a delta and does
 * not even walk.
 */
export class LiveRoutes {
  #table = new RouteTable<LiveRoute>();
  readonly #records = new Map<string, RouteRecord>();
  readonly #pools: UpstreamPools;
  readonly #listeners: ((change: TableChange) => void)[] = [];
  #generation = 0;
  #fold: NodeJS.Timeout | undefined;

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

  /** Makes the table exactly `routes` (a repeated id: the last one wins). */
  apply(routes: Route[]): TableChange {
    const old = this.#table;
    const generation = ++this.#generation;
    // Ids whose definition may differ from the live one: compared and built below.
    const pending = new Map<string, Route>();
    let kept = 0;
    for (const route of routes) {
      const before = old.get(route.id);
      if (before === undefined) {
        pending.set(route.id, route);
        continue;
      }
      if (before.record.seen !== generation) {
        before.record.seen = generation;
        kept++;
      }
      // Providers hand back the same objects for unchanged routes: no need to compare those.
      if (before.route === route) pending.delete(route.id);
      else pending.set(route.id, route);
    }
    const removed: LiveRoute[] = [];
    // Records are exactly the table's ids: a plain Map walk, cheaper than the table's layers.
    if (kept < old.size) for (const [id, record] of this.#records) if (record.seen !== generation) removed.push(old.get(id)!);
    return this.#commit(old, pending.values(), removed);
  }

  /** Applies a delta: `upsert` adds or replaces routes by id, `remove` drops ids. O(delta). */
  update(upsert: Iterable<Route>, remove: Iterable<string> = []): TableChange {
    const old = this.#table;
    const removed: LiveRoute[] = [];
    const gone = new Set<string>();
    for (const id of remove) {
      const live = old.get(id);
      if (live !== undefined && !gone.has(id)) removed.push(live);
      gone.add(id);
    }
    const upserts = new Map<string, Route>();
    for (const route of upsert) {
      if (gone.has(route.id)) throw new Error(`route "${route.id}" is both upserted and removed`);
      upserts.set(route.id, route);
    }
    return this.#commit(old, upserts.values(), removed);
  }

  #commit(old: RouteTable<LiveRoute>, candidates: Iterable<Route>, removed: LiveRoute[]): TableChange {
    const changes = new Map<string, LiveRoute | null>();
    const added: LiveRoute[] = [];
    const changed: [LiveRoute, LiveRoute][] = [];
    for (const route of candidates) {
      const before = old.get(route.id);
      if (before && (before.route === route || sameRoute(before.route, route))) continue;
      const live = this.#build(route);
      changes.set(route.id, live);
      if (before) changed.push([before, live]);
      else added.push(live);
    }
    for (const live of removed) changes.set(live.route.id, null);
    this.#table = old.with(changes, old.version + 1);
    for (const [before] of changed) this.#release(before);
    for (const live of removed) {
      this.#release(live);
      const record = this.#records.get(live.route.id);
      this.#records.delete(live.route.id);
      for (const socket of record?.connections ?? []) socket.destroy();
    }
    if (this.#table.layered) this.#scheduleFold();
    const change = { table: this.#table, added, removed, changed };
    for (const l of this.#listeners) l(change);
    return change;
  }

  /**
   * Folds the table's overlay into one Map a while after a change: the same routes and the
   * same version, so nothing observable changes. Not pushed back by further changes, so
   * that steady churn still folds about once per FOLD_DELAY_MS.
   */
  #scheduleFold(): void {
    if (this.#fold) return;
    this.#fold = setTimeout(() => {
      this.#fold = undefined;
      this.#table = this.#table.compact();
    }, FOLD_DELAY_MS);
    this.#fold.unref();
  }

  close(): void {
    this.apply([]);
    clearTimeout(this.#fold);
    this.#fold = undefined;
  }

  #build(route: Route): LiveRoute {
    let record = this.#records.get(route.id);
    if (!record) this.#records.set(route.id, (record = new RouteRecord(route.id)));
    if (route.kind === 'tcp') return { route, record };
    if (route.target === undefined) return { route, record };
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
    if (live.route.kind === 'http' && live.route.target !== undefined) this.#pools.release(live.route.target);
  }
}

/** How long a changed table stays layered before LiveRoutes folds it (see RouteTable). */
export const FOLD_DELAY_MS = 1_000;

function sameRoute(a: Route, b: Route): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

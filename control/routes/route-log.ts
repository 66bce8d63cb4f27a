import { randomBytes } from 'node:crypto';
import type { Route } from '../../protocol/route.ts';
import { deltaLine, snapshotLine, type SessionState } from '../../protocol/route-stream.ts';

/** One change of the table: from `version - 1` to `version`. */
export interface RouteDelta {
  readonly version: number;
  readonly upsert: readonly Route[];
  readonly remove: readonly string[];
  /** The delta as a stream line (protocol/route-stream.ts), encoded once for every gateway. */
  readonly line: string;
}

export interface RouteSnapshot {
  version: number;
  epoch: string;
  routes: Route[];
}

export type RouteListener = (delta: RouteDelta) => void;

export interface RouteLogOptions {
  /** Most deltas kept for resuming gateways; an older `since` gets a snapshot. */
  capacity?: number; // 10_000 deltas
  /** Most routes (upserts + removes) held by the kept deltas, whatever their count. */
  maxRoutes?: number; // 100_000 routes
  /** Names this history of versions; random by default, so a restarted control gets a new one. */
  epoch?: string;
}

/**
 * Control's side of the route stream as a pure data structure: the current routes by id,
 * a version counted up by every effective change, and a bounded log of recent deltas so that
 * a gateway that reconnects gets only what it missed. No I/O: the stream handler writes it.
 *
 * Routes are taken as checked (`parseRoute`); they are copied in, so callers may reuse their
 * objects. Routes hold secret header values: the log never prints them.
 */
export class RouteLog {
  readonly #routes = new Map<string, { route: Route; key: string }>();
  readonly #listeners = new Set<RouteListener>();
  readonly #capacity: number;
  readonly #maxRoutes: number;
  readonly #epoch: string;
  /** Ring buffer of the newest deltas, oldest at #head. */
  readonly #ring: (RouteDelta | undefined)[];
  #head = 0;
  #count = 0;
  #retainedRoutes = 0;
  #version = 0;

  constructor(options: RouteLogOptions = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#maxRoutes = options.maxRoutes ?? 100_000;
    if (!Number.isSafeInteger(this.#capacity) || this.#capacity < 1) throw new RangeError('capacity must be a whole number of at least 1');
    this.#epoch = options.epoch ?? randomBytes(9).toString('base64url');
    this.#ring = new Array(this.#capacity);
  }

  get version(): number {
    return this.#version;
  }

  get epoch(): string {
    return this.#epoch;
  }

  get size(): number {
    return this.#routes.size;
  }

  get(id: string): Route | undefined {
    const route = this.#routes.get(id)?.route;
    return route && structuredClone(route);
  }

  /** Adds or replaces a route; returns the delta, or undefined when the route was already so. */
  upsert(route: Route): RouteDelta | undefined {
    return this.change({ upsert: [route] });
  }

  /** Removes a route; returns the delta, or undefined when there was no such route. */
  remove(id: string): RouteDelta | undefined {
    return this.change({ remove: [id] });
  }

  /**
   * Several changes as one version. Removes apply first, then upserts (an id in both ends up
   * upserted); a later upsert of the same id wins. Unchanged routes and unknown ids are left
   * out; when nothing is left, nothing happens and undefined is returned.
   */
  change(input: { upsert?: readonly Route[]; remove?: readonly string[] }): RouteDelta | undefined {
    return this.#apply(input, this.#version + 1, false);
  }

  /**
   * A change numbered elsewhere (a store shared by several controls: shared-route-log.ts), as
   * version `version`, which must be the next one; made even when it changes nothing here, so
   * that the versions stay those of the store.
   */
  protected changeAt(version: number, input: { upsert?: readonly Route[]; remove?: readonly string[] }): RouteDelta {
    if (version !== this.#version + 1) throw new RangeError(`version ${version} does not follow ${this.#version}`);
    return this.#apply(input, version, true)!;
  }

  /**
   * Makes the table exactly `routes` at `version` (caught up from a whole table read elsewhere).
   * The kept deltas are dropped, so a gateway resuming from before gets a snapshot; the
   * gateways following now see the jump as a gap and reconnect for one.
   */
  protected reset(version: number, routes: readonly Route[]): void {
    const ids = new Set(routes.map((r) => r.id));
    const remove = [...this.#routes.keys()].filter((id) => !ids.has(id));
    this.#version = version - 1;
    this.#apply({ upsert: routes, remove }, version, true);
    // That delta is no change from `version - 1`: keep none, so that no gateway resumes across it.
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#count = 0;
    this.#retainedRoutes = 0;
  }

  #apply(input: { upsert?: readonly Route[]; remove?: readonly string[] }, version: number, always: boolean): RouteDelta | undefined {
    const upserts = new Map<string, { route: Route; key: string }>();
    const named = new Set<string>();
    for (const route of input.upsert ?? []) {
      named.add(route.id);
      const key = canonicalJson(route);
      if (this.#routes.get(route.id)?.key === key) upserts.delete(route.id);
      else upserts.set(route.id, { route: structuredClone(route), key });
    }
    const removes = [...new Set(input.remove ?? [])].filter((id) => this.#routes.has(id) && !named.has(id));
    if (!always && upserts.size === 0 && removes.length === 0) return undefined;
    for (const id of removes) this.#routes.delete(id);
    for (const [id, entry] of upserts) this.#routes.set(id, entry);
    this.#version = version;
    const upsert = [...upserts.values()].map((e) => e.route);
    const delta: RouteDelta = { version, upsert, remove: removes, line: deltaLine(version, upsert, removes) };
    this.#append(delta);
    let failure: unknown;
    for (const listener of [...this.#listeners]) {
      try {
        listener(delta);
      } catch (err) {
        failure ??= err;
      }
    }
    // One listener's bug must not keep the change from the others; it still surfaces.
    if (failure !== undefined) throw failure;
    return delta;
  }

  /** Makes the table exactly `routes` (control at start, rebuilding from its store), as one version. */
  replace(routes: readonly Route[]): RouteDelta | undefined {
    const ids = new Set(routes.map((r) => r.id));
    return this.change({ upsert: routes, remove: [...this.#routes.keys()].filter((id) => !ids.has(id)) });
  }

  snapshot(): RouteSnapshot {
    return { version: this.#version, epoch: this.#epoch, routes: [...this.#routes.values()].map((e) => structuredClone(e.route)) };
  }

  /** The snapshot as a stream line, with the app session state when given. */
  snapshotLine(sessions?: SessionState): string {
    return snapshotLine(this.#version, this.#epoch, [...this.#routes.values()].map((e) => e.route), sessions);
  }

  /**
   * The deltas after `version`, oldest first ([] when it is the current one), or undefined
   * when they are no longer all kept or `version` is not of this history: send a snapshot.
   */
  since(version: number): RouteDelta[] | undefined {
    if (!Number.isSafeInteger(version) || version < 0 || version > this.#version) return undefined;
    if (version === this.#version) return [];
    const oldest = this.#count ? this.#at(0).version : this.#version + 1;
    if (version < oldest - 1) return undefined;
    const out: RouteDelta[] = [];
    for (let i = version - oldest + 1; i < this.#count; i++) out.push(this.#at(i));
    return out;
  }

  /** Calls `listener` with every later delta, synchronously; returns the unsubscribe function. */
  subscribe(listener: RouteListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  #at(i: number): RouteDelta {
    return this.#ring[(this.#head + i) % this.#capacity]!;
  }

  #append(delta: RouteDelta): void {
    if (this.#count === this.#capacity) this.#dropOldest();
    this.#ring[(this.#head + this.#count) % this.#capacity] = delta;
    this.#count++;
    this.#retainedRoutes += delta.upsert.length + delta.remove.length;
    while (this.#count > 1 && this.#retainedRoutes > this.#maxRoutes) this.#dropOldest();
  }

  #dropOldest(): void {
    const old = this.#ring[this.#head]!;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#count--;
    this.#retainedRoutes -= old.upsert.length + old.remove.length;
  }
}

/** JSON with object keys sorted, so that two equal routes compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v);
}

import { isFinished } from '../../protocol/instance-status.ts';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { ControlError } from '../errors.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { Instance, Store } from '../store/store.ts';

/*
 * From an agent's endpoint report to a route (DESIGN.md "One launch" step 3). The endpoint is
 * kept on the instance as the agent reported it plus what control decided:
 *   { host, port, routing: 'https' | 'tcp', containerPort, gatewayPort? }
 * `gatewayPort` is the TCP port control pinned: stable per instance (the same on every report,
 * every gateway and across restarts, since it lives in the store) and unique among running
 * instances.
 */

export interface StoredEndpoint {
  host: string;
  port: number;
  routing: 'https' | 'tcp';
  containerPort: number;
  gatewayPort?: number;
}

/** Statuses in which an instance's route exists (it has an endpoint). */
const ROUTED = ['starting', 'active', 'idle', 'stopping'] as const;

function isStoredEndpoint(value: unknown): value is StoredEndpoint {
  const e = value as Partial<StoredEndpoint> | null;
  return Boolean(e && typeof e.host === 'string' && typeof e.port === 'number' && (e.routing === 'https' || e.routing === 'tcp'));
}

/** `[::1]` for IPv6 literals in URLs. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The route of an instance: with its endpoint, the route to it; while it is `starting` without
 * one yet, a route with status `starting` and no target, so that gateways answer its address
 * with "setting up" (503, Retry-After) instead of "no app here"; else (queued, finished, or an
 * app with no HTTPS port to wait for) undefined.
 *
 * Why from `starting`, not `queued`: `starting` means an agent holds the job and is setting the
 * app up, so the page that reloads itself is telling the truth; a queued instance may wait for
 * an agent that never comes (no agent serves its queue), which its status reason says, and a
 * page saying "setting up" forever would hide that.
 */
export function routeOf(instance: Instance): Route | undefined {
  if (isFinished(instance.status) || instance.status === 'queued') return undefined;
  if (!isStoredEndpoint(instance.endpoint)) return instance.status === 'starting' ? startingRouteOf(instance) : undefined;
  const e = instance.endpoint;
  const target = `${urlHost(e.host)}:${e.port}`;
  if (e.routing === 'tcp') {
    return parseRoute({ id: instance.id, instance: instance.id, kind: 'tcp', target: `tcp://${target}`, port: e.gatewayPort, status: 'active' });
  }
  // The spec's routeHeaders (secrets: Jupyter's own token) ride on the route, added upstream by the gateway.
  const headers = instance.spec?.routeHeaders;
  return parseRoute({ id: instance.id, instance: instance.id, kind: 'http', target: `http://${target}`, status: 'active', ...(headers && { headers: { ...headers } }) });
}

/**
 * The placeholder of an app that is setting up. Only for an app whose endpoint will be HTTPS (its
 * first port, the one an endpoint report names by default): a TCP app is reached through `wharf
 * connect`, which says "starting" by itself. No headers: they are only for the upstream.
 */
function startingRouteOf(instance: Instance): Route | undefined {
  if (instance.spec?.ports?.[0]?.routing !== 'https') return undefined;
  return parseRoute({ id: instance.id, instance: instance.id, kind: 'http', status: 'starting' });
}

/**
 * Pins gateway ports for TCP routes: one pick at a time in this control, and the store refuses
 * a port another instance holds (CTL_TCP_PORT_TAKEN), so that two controls picking at the same
 * moment never pin one port twice: the loser picks again.
 */
export class PortPinner {
  readonly #store: Store;
  readonly #range: [number, number];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: Store, range: [number, number]) {
    this.#store = store;
    this.#range = range;
  }

  /**
   * The instance's pinned port: the one it has already, else a free one of the range, starting
   * from a place derived from the id (so a re-created table tends to give the same ports).
   * `commit` runs under the same lock, so the port is stored before another pick looks.
   */
  pin<T>(instance: Instance, commit: (port: number) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const current = (instance.endpoint as Partial<StoredEndpoint> | null)?.gatewayPort;
      if (typeof current === 'number') return commit(current);
      const taken = new Set<number>();
      for (const other of await this.#store.instances.list({ status: [...ROUTED] })) {
        const p = (other.endpoint as Partial<StoredEndpoint> | null)?.gatewayPort;
        if (other.id !== instance.id && typeof p === 'number') taken.add(p);
      }
      const [lo, hi] = this.#range;
      const size = hi - lo + 1;
      let h = 0;
      for (const ch of instance.id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      for (let i = 0; i < size; i++) {
        const port = lo + ((h + i) % size);
        if (taken.has(port)) continue;
        try {
          return await commit(port);
        } catch (err) {
          // Another control pinned it since the list was read: the next one.
          if ((err as { code?: string }).code !== 'CTL_TCP_PORT_TAKEN') throw err;
          taken.add(port);
        }
      }
      throw new ControlError('CTL_NO_TCP_PORT', `${size} ports in ${lo}-${hi}, all pinned`);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** The routes of the store's running instances. */
export async function storedRoutes(store: Store): Promise<Route[]> {
  const all: Route[] = [];
  for (const instance of await store.instances.list({ status: [...ROUTED] })) {
    const route = routeOf(instance);
    if (route) all.push(route);
  }
  return all;
}

/** Makes the route log hold exactly the routes of the store's running instances (control start). */
export async function restoreRoutes(store: Store, routes: RouteLog): Promise<number> {
  const all = await storedRoutes(store);
  routes.replace(all);
  return all.length;
}

/**
 * Removes routes whose instance is gone, finished or without an endpoint (whatever path it took
 * there); a starting route stays while its instance is still `starting` (back to `queued` when
 * its lease expired, or stopped before it was ready: removed).
 */
export async function dropStaleRoutes(store: Store, routes: RouteLog): Promise<string[]> {
  // One query of ids, not a full instance per route: with 10,000 routes this runs every few seconds.
  const routable = new Set(await store.instances.routableIds());
  // Few instances are starting at any time. Both are read before the table is, so that a route
  // added meanwhile is not mistaken for a stale one.
  const starting = new Set((await store.instances.list({ status: ['starting'] })).map((i) => i.id));
  const stale: string[] = [];
  for (const route of routes.snapshot().routes) {
    if (routable.has(route.instance)) continue;
    if (route.status === 'starting' && route.target === undefined && starting.has(route.instance)) continue;
    stale.push(route.id);
  }
  if (stale.length) routes.change({ remove: stale });
  return stale;
}

import type { Duplex } from 'node:stream';
import type { LiveRoutes } from '../routing/live-routes.ts';
import { admit, type ConnectionCaps } from './connection-caps.ts';

/**
 * Every live TCP connection (raw, TLS by SNI, tunnel) by route: admission under the caps in
 * total and per route (`caps`, keyed by route id: counted by the supervisor when this is one
 * of several workers), and the grace-then-close when a route is removed.
 */
export class TcpConnections {
  readonly #caps: ConnectionCaps;
  readonly #byRoute = new Map<string, Set<() => void>>();
  #open = 0;

  /** `closeGraceMs`: the time live connections get after their route is removed before they are closed. */
  constructor(live: LiveRoutes, caps: ConnectionCaps, closeGraceMs: number) {
    this.#caps = caps;
    live.onChange(({ removed }) => {
      for (const { route } of removed) if (route.kind === 'tcp') this.closeRoute(route.id, closeGraceMs);
    });
  }

  /** Connections of this process open now. */
  get total(): number {
    return this.#open;
  }

  /**
   * Admits `client` for `route` if the caps allow, calling `start` to connect it (`start`
   * returns the function that closes the pair); over a cap, calls `refuse` and starts nothing.
   * A client that leaves while the supervisor is asked is neither started nor refused.
   */
  admit(route: string, client: Duplex, start: () => () => void, refuse: () => void): void {
    admit(this.#caps, route, client, () => this.#start(route, client, start), refuse);
  }

  #start(route: string, client: Duplex, start: () => () => void): void {
    const close = start();
    let live = this.#byRoute.get(route);
    if (!live) this.#byRoute.set(route, (live = new Set()));
    live.add(close);
    this.#open++;
    client.once('close', () => {
      this.#open--;
      live.delete(close);
      if (live.size === 0 && this.#byRoute.get(route) === live) this.#byRoute.delete(route);
    });
  }

  closeRoute(route: string, graceMs: number): void {
    const set = this.#byRoute.get(route);
    if (!set) return;
    const closeAll = () => {
      for (const close of set) close();
    };
    if (graceMs === 0) closeAll();
    else setTimeout(closeAll, graceMs).unref();
  }

  closeAll(): void {
    for (const route of [...this.#byRoute.keys()]) this.closeRoute(route, 0);
  }
}

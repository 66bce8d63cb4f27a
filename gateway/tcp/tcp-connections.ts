import type { Duplex } from 'node:stream';
import type { LiveRoutes } from '../routing/live-routes.ts';

export interface TcpConnectionLimits {
  maxConnections: number;
  maxConnectionsPerRoute: number;
  /** Time live connections get after their route is removed before they are closed. */
  closeGraceMs: number;
}

/**
 * Every live TCP connection (raw, TLS by SNI, tunnel) by route: the caps in total and per
 * route, and the grace-then-close when a route is removed.
 */
export class TcpConnections {
  readonly #limits: TcpConnectionLimits;
  readonly #byRoute = new Map<string, Set<() => void>>();
  #total = 0;

  constructor(live: LiveRoutes, limits: TcpConnectionLimits) {
    this.#limits = limits;
    live.onChange(({ removed }) => {
      for (const { route } of removed) if (route.kind === 'tcp') this.closeRoute(route.id, limits.closeGraceMs);
    });
  }

  get total(): number {
    return this.#total;
  }

  /**
   * Admits `client` for `route` if the caps allow, calling `start` to connect it; `start`
   * returns the function that closes the pair. False (and nothing started) when over a cap.
   */
  admit(route: string, client: Duplex, start: () => () => void): boolean {
    const set = this.#byRoute.get(route);
    if (this.#total >= this.#limits.maxConnections || (set?.size ?? 0) >= this.#limits.maxConnectionsPerRoute) return false;
    const close = start();
    let live = set;
    if (!live) this.#byRoute.set(route, (live = new Set()));
    live.add(close);
    this.#total++;
    client.once('close', () => {
      this.#total--;
      live.delete(close);
      if (live.size === 0 && this.#byRoute.get(route) === live) this.#byRoute.delete(route);
    });
    return true;
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

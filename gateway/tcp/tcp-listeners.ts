import net from 'node:net';
import type { Logger } from 'pino';
import type { LiveRoute, LiveRoutes, LiveTcpRoute, TableChange } from '../routing/live-routes.ts';
import { Allowlist } from './allowlist.ts';
import type { TcpConnections } from './tcp-connections.ts';
import { pipeTcp } from './tcp-pipe.ts';

export interface TcpListenerOptions {
  host: string;
  /** Ports for routes that name none, lowest first. */
  portRange: [number, number];
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

/** One raw listener: the route it serves now (swapped on change) and its port. */
interface Listener {
  live: LiveTcpRoute;
  allow: Allowlist;
  server: net.Server;
  port: number;
}

/** Raw TCP routes (`tls: none`): the routing mode; the others arrive by SNI on the HTTPS port. */
export function isRawTcp(live: LiveRoute): live is LiveTcpRoute {
  return live.route.kind === 'tcp' && live.route.tls === 'none';
}

/**
 * The raw TCP entrypoint: one listener per `tls: none` route, opened and closed as the route
 * table changes without touching other routes. A removed route stops accepting at once (its
 * port is free again) and its live connections are closed after a grace period.
 */
export class TcpListeners {
  readonly #limits: TcpListenerOptions;
  readonly #connections: TcpConnections;
  readonly #log: Logger;
  readonly #listeners = new Map<string, Listener>();
  // Table changes are applied one after another: listening is asynchronous.
  #queue: Promise<void> = Promise.resolve();

  constructor(live: LiveRoutes, connections: TcpConnections, limits: TcpListenerOptions, log: Logger) {
    this.#limits = limits;
    this.#connections = connections;
    this.#log = log;
    live.onChange((change) => {
      this.#queue = this.#queue.then(() => this.#apply(change)).catch((err) => log.error({ err }, 'tcp listeners not updated'));
    });
  }

  /** Resolves when every table change so far has been applied. */
  settled(): Promise<void> {
    return this.#queue;
  }

  /** The port each raw TCP route listens on. */
  ports(): Map<string, number> {
    return new Map([...this.#listeners].map(([id, l]) => [id, l.port]));
  }

  async close(): Promise<void> {
    await this.#queue;
    for (const id of [...this.#listeners.keys()]) this.#remove(id);
  }

  async #apply(change: TableChange): Promise<void> {
    for (const live of change.removed) if (isRawTcp(live)) this.#remove(live.route.id);
    for (const [before, after] of change.changed) {
      const held = this.#listeners.get(after.route.id);
      if (held && isRawTcp(after) && (after.route.port === undefined || after.route.port === held.port)) {
        // Same port: new connections use the new definition, live ones keep theirs.
        held.live = after;
        held.allow = new Allowlist(after.route.allow);
        continue;
      }
      if (isRawTcp(before)) this.#remove(before.route.id);
      if (isRawTcp(after)) await this.#add(after);
    }
    for (const live of change.added) if (isRawTcp(live)) await this.#add(live);
  }

  async #add(live: LiveTcpRoute): Promise<void> {
    const route = live.route;
    const listener: Listener = { live, allow: new Allowlist(route.allow), server: net.createServer({ allowHalfOpen: true }), port: 0 };
    listener.server.on('connection', (socket) => this.#accept(listener, socket));
    listener.server.on('error', (err) => this.#log.error({ route: route.id, err: err.message }, 'tcp listener error'));
    try {
      listener.port = route.port !== undefined ? await this.#listen(listener.server, route.port) : await this.#listenInRange(listener.server);
    } catch (err) {
      this.#log.error({ route: route.id, port: route.port, err: (err as Error).message }, 'tcp route not served: its port cannot be opened');
      return;
    }
    this.#listeners.set(route.id, listener);
    this.#log.info({ route: route.id, port: listener.port }, 'tcp route listening');
  }

  #accept(listener: Listener, socket: net.Socket): void {
    const { route, record } = listener.live;
    socket.on('error', () => socket.destroy());
    if (!listener.allow.allows(socket.remoteAddress)) {
      this.#log.debug({ route: route.id, from: socket.remoteAddress }, 'tcp connection refused by the allowlist');
      socket.destroy();
      return;
    }
    if (route.status !== 'active') return void socket.destroy();
    this.#connections.admit(route.id, socket, () =>
      pipeTcp(socket, route.target, { connectTimeoutMs: this.#limits.connectTimeoutMs, idleTimeoutMs: this.#limits.idleTimeoutMs, stats: record.stats, log: this.#log, route: route.id }),
    () => socket.destroy());
  }

  /**
   * Stops accepting at once, so the port is free again; TcpConnections closes the live ones
   * after their grace. close()'s callback is not awaited: it waits for those connections.
   */
  #remove(id: string): void {
    const listener = this.#listeners.get(id);
    if (!listener) return;
    this.#listeners.delete(id);
    listener.server.close();
  }

  #listen(server: net.Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // Not exclusive: in a gateway worker, the port is the supervisor's, shared by every worker.
      server.listen({ port, host: this.#limits.host }, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  async #listenInRange(server: net.Server): Promise<number> {
    const taken = new Set([...this.#listeners.values()].map((l) => l.port));
    const [lo, hi] = this.#limits.portRange;
    for (let port = lo; port <= hi; port++) {
      if (taken.has(port)) continue;
      try {
        return await this.#listen(server, port);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    throw new Error(`no free port in ${lo}-${hi}`);
  }
}

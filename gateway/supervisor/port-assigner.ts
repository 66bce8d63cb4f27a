import net from 'node:net';
import type { Route } from '../../protocol/route.ts';

/**
 * Gives each raw TCP route that names no port one from --tcp-ports, in the supervisor, so that
 * every worker listens on the same port for it (a worker left to choose would pick the lowest
 * free port as it sees it, and a worker started later sees other ports free). A route keeps
 * its port while it exists; a port in use by another program is skipped.
 */
export class PortAssigner {
  readonly #host: string;
  readonly #range: [number, number];
  readonly #ports = new Map<string, number>();
  /** The route as handed out, per route object from the provider: unchanged routes stay the same object. */
  readonly #assigned = new WeakMap<Route, Route>();

  constructor(host: string, range: [number, number]) {
    this.#host = host;
    this.#range = range;
  }

  /** `routes` with a port on every raw TCP route; a route whose port cannot be found is left without. */
  async assign(routes: Route[]): Promise<Route[]> {
    const ids = new Set(routes.map((r) => r.id));
    for (const id of this.#ports.keys()) if (!ids.has(id)) this.#ports.delete(id);
    const out: Route[] = [];
    for (const route of routes) {
      if (route.kind !== 'tcp' || route.tls !== 'none' || route.port !== undefined) {
        out.push(route);
        continue;
      }
      let given = this.#assigned.get(route);
      if (!given || given.kind !== 'tcp' || this.#ports.get(route.id) !== given.port) {
        const port = this.#ports.get(route.id) ?? (await this.#free());
        if (port === undefined) {
          out.push(route); // the workers report it as not listening
          continue;
        }
        this.#ports.set(route.id, port);
        given = { ...route, port };
        this.#assigned.set(route, given);
      }
      out.push(given);
    }
    return out;
  }

  async #free(): Promise<number | undefined> {
    const taken = new Set(this.#ports.values());
    for (let port = this.#range[0]; port <= this.#range[1]; port++) {
      if (!taken.has(port) && (await canListen(this.#host, port))) return port;
    }
    return undefined;
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

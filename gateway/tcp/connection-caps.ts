import type { Duplex } from 'node:stream';

/**
 * Caps on connections, counted in total and per key: client connections to the HTTPS port per
 * client address (--max-connections, --max-connections-per-ip), TCP routes' connections per
 * route (--tcp-max-connections, --tcp-max-connections-per-route). One process counts them
 * itself (LocalConnectionCaps); a gateway worker asks its supervisor, which counts every
 * worker's connections (gateway/supervisor/), so that the caps hold for the gateway as a
 * whole and not once per worker.
 */
export interface ConnectionCaps {
  /** Takes one connection for `key`: false (nothing taken) when a cap is reached. */
  open(key: string): boolean | Promise<boolean>;
  /** Gives back a connection that open() took. */
  close(key: string): void;
}

/**
 * Takes a place for `client` under `key`, waiting for the supervisor's answer where it counts,
 * and gives it back when `client` closes: `admitted` runs once the place is taken, `refused`
 * when a cap is reached. A client that left while the answer came gets neither, and its place
 * is given back at once.
 */
export function admit(caps: ConnectionCaps, key: string, client: Duplex, admitted: () => void, refused: () => void): void {
  const hold = () => {
    if (client.destroyed) return caps.close(key);
    client.once('close', () => caps.close(key));
    admitted();
  };
  const taken = caps.open(key);
  if (taken === true) hold();
  else if (taken === false) refused();
  else taken.then((ok) => (ok ? hold() : refused()), refused);
}

export interface CapLimits {
  /** Connections in all. */
  total: number;
  /** Connections for one key. */
  perKey: number;
}

export class LocalConnectionCaps implements ConnectionCaps {
  readonly #limits: CapLimits;
  readonly #perKey = new Map<string, number>();
  #total = 0;

  constructor(limits: CapLimits) {
    this.#limits = limits;
  }

  open(key: string): boolean {
    const n = (this.#perKey.get(key) ?? 0) + 1;
    if (n > this.#limits.perKey || this.#total >= this.#limits.total) return false;
    this.#perKey.set(key, n);
    this.#total++;
    return true;
  }

  close(key: string): void {
    const n = this.#perKey.get(key);
    if (n === undefined) return;
    this.#total--;
    if (n <= 1) this.#perKey.delete(key);
    else this.#perKey.set(key, n - 1);
  }

  get total(): number {
    return this.#total;
  }
}

/** The gateway's two sets of caps: client connections by address, TCP route connections by route. */
export type CapKind = 'clients' | 'tcp';

export interface CapSettings {
  maxConnections: number;
  maxConnectionsPerIp: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerRoute: number;
}

/** Both sets, counted in this process (one gateway process, or a supervisor for its workers). */
export function localCaps(s: CapSettings): Record<CapKind, LocalConnectionCaps> {
  return {
    clients: new LocalConnectionCaps({ total: s.maxConnections, perKey: s.maxConnectionsPerIp }),
    tcp: new LocalConnectionCaps({ total: s.tcpMaxConnections, perKey: s.tcpMaxConnectionsPerRoute }),
  };
}

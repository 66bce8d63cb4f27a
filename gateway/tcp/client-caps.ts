/**
 * The caps on client connections to the HTTPS port: in total and per client address. One
 * process counts them itself (LocalClientCaps); a gateway worker asks its supervisor, which
 * counts every worker's connections (gateway/supervisor/), so that the caps hold for the
 * gateway as a whole and not once per worker.
 */
export interface ClientCaps {
  /** Takes one connection from `ip`: false (nothing taken) when a cap is reached. */
  open(ip: string): boolean | Promise<boolean>;
  /** Gives back a connection that open() took. */
  close(ip: string): void;
}

export interface ClientCapLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export class LocalClientCaps implements ClientCaps {
  readonly #limits: ClientCapLimits;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  constructor(limits: ClientCapLimits) {
    this.#limits = limits;
  }

  open(ip: string): boolean {
    const n = (this.#perIp.get(ip) ?? 0) + 1;
    if (n > this.#limits.maxConnectionsPerIp || this.#total >= this.#limits.maxConnections) return false;
    this.#perIp.set(ip, n);
    this.#total++;
    return true;
  }

  close(ip: string): void {
    const n = this.#perIp.get(ip);
    if (n === undefined) return;
    this.#total--;
    if (n <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n - 1);
  }

  get total(): number {
    return this.#total;
  }
}

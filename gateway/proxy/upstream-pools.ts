import { Pool } from 'undici';

export interface PoolOptions {
  connectTimeoutMs: number;
  /** Time an app has to send its response head; then the request fails with 504. */
  headersTimeoutMs: number;
  /** Keep-alive connections per upstream. */
  connections: number;
}

/**
 * One keep-alive pool per upstream origin, shared by every route that targets it and closed
 * (gracefully, after in-flight requests) when the last such route goes.
 */
export class UpstreamPools {
  readonly #options: PoolOptions;
  readonly #pools = new Map<string, { pool: Pool; refs: number }>();

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  acquire(origin: string): Pool {
    let entry = this.#pools.get(origin);
    if (!entry) {
      const o = this.#options;
      const pool = new Pool(origin, {
        connections: o.connections,
        pipelining: 1,
        connectTimeout: o.connectTimeoutMs,
        headersTimeout: o.headersTimeoutMs,
        // Streams (server-sent events, downloads) may pause for long; the client decides.
        bodyTimeout: 0,
        // Reuse a connection only within the upstream's own keep-alive window (Node's default
        // is 5 s; undici keeps a 1 s margin below what the server announces).
        keepAliveTimeout: 4_000,
      });
      entry = { pool, refs: 0 };
      this.#pools.set(origin, entry);
    }
    entry.refs++;
    return entry.pool;
  }

  release(origin: string): void {
    const entry = this.#pools.get(origin);
    if (!entry || --entry.refs > 0) return;
    this.#pools.delete(origin);
    void entry.pool.close().catch(() => {});
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

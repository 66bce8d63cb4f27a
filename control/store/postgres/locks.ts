import { createHash } from 'node:crypto';
import pg from 'pg';
import type { StoreLocks } from '../store.ts';

/*
 * Locks on PostgreSQL's session advisory locks, on a connection of their own: PostgreSQL
 * releases them when that connection ends, so a control that dies (kill -9, a cut network)
 * lets another take its work at once. Each `hold` first checks the connection still answers:
 * a control whose connection is gone holds nothing, even before it notices.
 */

/**
 * The locks' connection. A control whose host vanishes (powered off, cut off) sends no FIN:
 * PostgreSQL must find the connection dead by itself to release the locks, so the session asks
 * for TCP keepalives after 5 s idle, every 2 s, 3 unanswered ending it (about 11 s: within the
 * 15 s a lock's work may wait). Keepalives only probe a connection with nothing in flight: one
 * whose host vanished while PostgreSQL was sending (an answer, a notice) retransmits instead, for
 * about 15 minutes (tcp_retries2), so `tcp_user_timeout` also ends it when what was sent goes
 * unacknowledged for 10 s (locks.test.ts drops the packets to show both). This side probes too,
 * and gives a query 5 s, so that a control cut off from PostgreSQL stops believing it holds anything.
 */
export function lockClientConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: `wharf control (locks, pid ${process.pid})`,
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    options: '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 -c tcp_user_timeout=10000',
  };
}

export class PostgresLocks implements StoreLocks {
  readonly #url: string;
  readonly #onError: ((err: Error) => void) | undefined;
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  readonly #held = new Set<string>();
  #closed = false;

  constructor(url: string, onError?: (err: Error) => void) {
    this.#url = url;
    this.#onError = onError;
  }

  async hold(name: string): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const client = await this.#connection();
      if (this.#held.has(name)) {
        await client.query('SELECT 1'); // still connected: still ours
        return true;
      }
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [lockKey(name)]);
      if (rows[0]?.ok) this.#held.add(name);
      return rows[0]?.ok === true;
    } catch (err) {
      this.#drop(err as Error);
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#held.clear();
    await client?.end().catch(() => {});
  }

  #connection(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= (async () => {
      const client = new pg.Client(lockClientConfig(this.#url));
      // Unheard, a connection's error would end the process; its locks are gone with it.
      client.on('error', (err) => this.#drop(err, client));
      client.on('end', () => this.#drop(undefined, client));
      await client.connect();
      this.#client = client;
      return client;
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #drop(err?: Error, client = this.#client): void {
    if (!client || client !== this.#client) return;
    this.#client = undefined;
    this.#held.clear();
    client.end().catch(() => {});
    if (err) this.#onError?.(err);
  }
}

/** A lock's 64-bit key: the first 8 bytes of the name's sha256, as PostgreSQL's bigint. */
function lockKey(name: string): string {
  return createHash('sha256').update(`wharf:${name}`).digest().readBigInt64BE(0).toString();
}

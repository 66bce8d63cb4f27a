import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ChangeFeed, FeedEvent, StoreChange } from '../change-feed.ts';

/*
 * The change feed over PostgreSQL's LISTEN/NOTIFY. NOTIFY goes through the pool; LISTEN needs
 * a connection of its own that stays open (a pooled one would be handed to a query, and its
 * notifications lost when the pool closes it), so this keeps one, and keeps it alive itself:
 * - a broken connection is replaced, after 0.25 s, then doubling up to 5 s between tries;
 * - a heartbeat every 10 s: a connection that no longer answers within 5 s (a network cut that
 *   never reset it) is dropped and replaced;
 * - after a replacement, listeners hear `resync`: whatever was notified meanwhile is lost, so
 *   they read again what they hold.
 * Each control's messages carry its random id, so it skips its own.
 */

const CHANNEL = 'wharf_changes';
/** NOTIFY payloads end at 8,000 bytes: ids and observations go in chunks well below. */
const IDS_PER_MESSAGE = 200;
const OBSERVATIONS_PER_MESSAGE = 20;
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

export interface PostgresChangeFeedOptions {
  url: string;
  /** For NOTIFY. */
  pool: pg.Pool;
  /** Told when the listening connection breaks or cannot be opened; the feed retries by itself. */
  onError?: (err: Error) => void;
  heartbeatMs?: number;
}

export class PostgresChangeFeed implements ChangeFeed {
  readonly #options: PostgresChangeFeedOptions;
  readonly #id = randomBytes(8).toString('base64url');
  readonly #listeners = new Set<(event: FeedEvent) => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = RETRY_FIRST_MS;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: PostgresChangeFeedOptions) {
    this.#options = options;
  }

  /** Opens the listening connection; rejects when the first one cannot be opened. */
  async start(): Promise<void> {
    await this.#connect();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatMs ?? HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  async publish(change: StoreChange): Promise<void> {
    const messages = change.kind === 'routes' ? chunks(change.instances, IDS_PER_MESSAGE).map((instances) => ({ ...change, instances }))
      : change.kind === 'idle' ? chunks(change.observations, OBSERVATIONS_PER_MESSAGE).map((observations) => ({ ...change, observations }))
        : [change];
    for (const message of messages) {
      await this.#options.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ from: this.#id, ...message })]);
    }
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#options.url, application_name: 'wharf control (changes)', connectionTimeoutMillis: HEARTBEAT_TIMEOUT_MS });
    // Unheard, a connection's error would end the process.
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => this.#heard(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = RETRY_FIRST_MS;
  }

  #heard(payload: string | undefined): void {
    let message: { from?: unknown; kind?: unknown; instances?: unknown; observations?: unknown };
    try {
      message = JSON.parse(payload ?? '');
    } catch {
      return; // not one of ours
    }
    if (message.from === this.#id) return;
    if (message.kind === 'routes' && Array.isArray(message.instances) && message.instances.every((i) => typeof i === 'string')) {
      this.#emit({ kind: 'routes', instances: message.instances as string[] });
    } else if (message.kind === 'sessions' || message.kind === 'jobs') {
      this.#emit({ kind: message.kind });
    } else if (message.kind === 'idle' && Array.isArray(message.observations)) {
      this.#emit({ kind: 'idle', observations: message.observations });
    }
  }

  #emit(event: FeedEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#options.onError?.(err as Error);
      }
    }
  }

  /** The listening connection broke (or stopped answering): replace it, then resync. */
  #lost(client: pg.Client, err?: Error): void {
    if (client !== this.#client) return; // an old one's late events
    this.#client = undefined;
    client.end().catch(() => {});
    if (err) this.#options.onError?.(err);
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(async () => {
      this.#retry = undefined;
      try {
        await this.#connect();
        if (!this.#closed) this.#emit({ kind: 'resync' });
      } catch (err) {
        this.#options.onError?.(err as Error);
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        this.#reconnectLater();
      }
    }, this.#retryMs);
    this.#retry.unref();
  }

  async #beat(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the change feed's connection did not answer within ${HEARTBEAT_TIMEOUT_MS} ms`)), HEARTBEAT_TIMEOUT_MS);
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (err) {
      this.#lost(client, err as Error);
    } finally {
      clearTimeout(timer);
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out.length ? out : [[]];
}

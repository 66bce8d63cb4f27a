import { ControlUrls, parseControlUrls } from '../../protocol/control-urls.ts';
import { Agent, request } from 'undici';
import type { RouteStats, RouteStatsDelta } from './route-stats.ts';

/*
 * Pushes per-route deltas to control's metrics history (POST /api/v1/gateways/stats, the
 * gateway key as `Authorization: Bearer`, body {deltas}) every `intervalMs` (default 5 s).
 *
 * Nothing is buffered: a push that fails (control away, slow past `timeoutMs`, or answering
 * other than 2xx) drops its deltas and counts them in `dropped`, so a long outage costs no
 * memory; the cumulative counts (/stats, Prometheus) are unaffected. A tick while a push is
 * still in flight takes nothing: its counts go into the next interval. Routes whose id is not
 * a DNS label (routes-file names control would refuse) are left out, as are idle routes.
 * A route's id is its instance id when control feeds the gateway.
 */

export interface StatsPusherOptions {
  /** Control's base URL (WHARF_GATEWAY_CONTROL). */
  control: string;
  /** The gateway key (WHARF_GATEWAY_KEY). */
  key: string;
  /** The live routes' stats, read at each tick. */
  stats: () => Iterable<RouteStats>;
  intervalMs?: number;
  timeoutMs?: number;
  clock?: () => number;
  /** Told of each failed push (a log line); never throws into the pusher. */
  onError?: (err: Error, dropped: number) => void;
}

export const STATS_PATH = '/api/v1/gateways/stats';
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_BATCH = 5000; // control's MAX_DELTAS

export class StatsPusher {
  /** Deltas control took. */
  pushed = 0;
  /** Deltas dropped because a push failed. */
  dropped = 0;
  /** Pushes that failed. */
  failures = 0;
  readonly #options: StatsPusherOptions;
  readonly #urls: ControlUrls;
  readonly #agent: Agent;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(options: StatsPusherOptions) {
    this.#options = options;
    this.#urls = new ControlUrls(parseControlUrls(options.control));
    // Its own pool: pushes never queue behind proxied traffic, nor the route stream.
    this.#agent = new Agent({ connections: 2, keepAliveTimeout: 30_000, connect: { timeout: options.timeoutMs ?? 10_000 } });
  }

  start(): this {
    this.#timer ??= setInterval(() => void this.tick(), this.#options.intervalMs ?? 5_000);
    this.#timer.unref();
    return this;
  }

  /** Takes the deltas of every route and pushes them; resolves when done (never rejects). */
  tick(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const now = (this.#options.clock ?? Date.now)();
    const deltas: (RouteStatsDelta & { instance: string })[] = [];
    for (const stats of this.#options.stats()) {
      if (!LABEL.test(stats.route)) continue;
      const d = stats.takeDelta(now);
      if (d) deltas.push({ ...d, instance: d.route });
    }
    if (deltas.length === 0) return Promise.resolve();
    this.#inFlight = this.#push(deltas).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #push(deltas: RouteStatsDelta[]): Promise<void> {
    for (let i = 0; i < deltas.length; i += MAX_BATCH) {
      const batch = deltas.slice(i, i + MAX_BATCH);
      try {
        const timeout = this.#options.timeoutMs ?? 10_000;
        // Several controls: the next one when one cannot be reached (they share the history).
        const res = await this.#urls.use((control) => request(new URL(STATS_PATH, control), {
          method: 'POST', dispatcher: this.#agent, headersTimeout: timeout, bodyTimeout: timeout,
          headers: { authorization: `Bearer ${this.#options.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ deltas: batch }),
        }));
        const text = await res.body.text();
        if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`control answered ${res.statusCode}: ${text.slice(0, 300)}`);
        this.pushed += batch.length;
      } catch (err) {
        this.failures++;
        this.dropped += batch.length;
        this.#options.onError?.(err as Error, batch.length);
      }
    }
  }

  /** Stops the timer, waits for a push in flight, closes the pool. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    await this.#agent.close();
  }
}

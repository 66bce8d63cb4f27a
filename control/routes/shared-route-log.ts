import type { Logger } from 'pino';
import type { Route } from '../../protocol/route.ts';
import type { ChangeFeed } from '../store/change-feed.ts';
import type { RouteTableStore } from '../store/store.ts';
import { RouteLog, type RouteDelta } from './route-log.ts';

/** How long a failed write waits before its one retry. */
const RETRY_MS = 1_000;

/**
 * The route log of a control that shares its database with others (PostgreSQL): a change made
 * here is written to the store's route table first, which numbers it with the one counter
 * every control shares, and reaches this log (and every other control's) when read back, in
 * the store's order. So version N is the same table on every control, and a gateway that
 * moves to another control resumes from its version there instead of taking a snapshot.
 *
 * Changes are written in the order they are made, one after the other; `change` returns at
 * once (undefined: the delta comes when read back). A write the database refuses twice is
 * logged and left to the next comparison with the instances (follow-other-controls.ts).
 */
export class SharedRouteLog extends RouteLog {
  readonly #table: RouteTableStore;
  readonly #feed: ChangeFeed;
  readonly #log: Logger;
  #writes: Promise<void> = Promise.resolve();
  #reading: Promise<void> | undefined;
  #again = false;

  private constructor(table: RouteTableStore, feed: ChangeFeed, log: Logger, epoch: string) {
    super({ epoch });
    this.#table = table;
    this.#feed = feed;
    this.#log = log;
  }

  /** The log at the store's current version and table. */
  static async open(table: RouteTableStore, feed: ChangeFeed, log: Logger): Promise<SharedRouteLog> {
    const now = await table.read();
    const routes = new SharedRouteLog(table, feed, log, now.epoch);
    if (now.version > 0) routes.reset(now.version, now.routes);
    return routes;
  }

  override change(input: { upsert?: readonly Route[]; remove?: readonly string[] }): RouteDelta | undefined {
    const change = { upsert: (input.upsert ?? []).map((r) => structuredClone(r)), remove: [...(input.remove ?? [])] };
    this.#writes = this.#writes.then(() => this.#write(change));
    return undefined;
  }

  /** Settles once every change made here so far is written and read back. */
  async settled(): Promise<void> {
    await this.#writes;
    await this.catchUp();
  }

  /**
   * Writes the changes that make this table what the caller compared it with at `version`;
   * `moved` when the store's table is no longer at that version (compare again).
   */
  async reconcile(change: { upsert: Route[]; remove: string[] }, version: number): Promise<'done' | 'moved'> {
    const result = await this.#table.apply(change, { ifVersion: version });
    if (result === 'moved') return 'moved';
    if (result !== 'unchanged') await this.#announce(change);
    return 'done';
  }

  /**
   * Reads the store's changes after this log's version and applies them in order (the whole
   * table when they are no longer all kept). Calls made while a read runs share the next one.
   */
  catchUp(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readChanges();
        } while (this.#again);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #readChanges(): Promise<void> {
    for (;;) {
      const changes = await this.#table.since(this.version);
      if (changes === undefined) {
        const now = await this.#table.read();
        if (now.epoch !== this.epoch) throw new Error(`the store's route table is another history (epoch ${now.epoch}, this control's ${this.epoch}): restart control`);
        this.#log.warn({ from: this.version, to: now.version }, 'route log too far behind the store: read the whole table again');
        this.reset(now.version, now.routes);
        return;
      }
      for (const c of changes) this.changeAt(c.version, c);
      if (changes.length === 0) return;
    }
  }

  async #write(change: { upsert: Route[]; remove: string[] }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.#table.apply(change);
        if (result !== 'unchanged') await this.#announce(change);
        await this.catchUp();
        return;
      } catch (err) {
        if (attempt === 2) {
          this.#log.error({ err, upsert: change.upsert.map((r) => r.id), remove: change.remove }, 'route change not written to the store; the next comparison with the instances puts it right');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Prompts the other controls to read the table (a lost notice costs their next poll). */
  async #announce(change: { upsert: readonly Route[]; remove: readonly string[] }): Promise<void> {
    const instances = [...change.upsert.map((r) => r.id), ...change.remove];
    await this.#feed.publish({ kind: 'routes', instances }).catch((err: unknown) => this.#log.warn({ err }, 'telling other controls of a route change failed; they read it with their next poll'));
  }
}

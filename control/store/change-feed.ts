/*
 * What one control tells the others on the same database, so that what each keeps in memory
 * for speed (the route log its gateways follow, the app session revocations) follows changes
 * made through another. Only PostgreSQL carries it (postgres/change-feed.ts, LISTEN/NOTIFY);
 * SQLite serves one control, which has nobody to tell.
 */

export type StoreChange =
  /** These instances' routes may have changed: read them again. */
  | { kind: 'routes'; instances: string[] }
  /** App session revocations were added: read them again. */
  | { kind: 'sessions' }
  /** A launch job was queued: agents waiting for one may lease it. */
  | { kind: 'jobs' }
  /**
   * What agents and gateways reported to a control that the idle monitors of the others need
   * too (control/idle/idle-monitor.ts, SharedObservation): checked by the receiver.
   */
  | { kind: 'idle'; observations: unknown[] };

/** `resync`: the feed was cut and is back; changes may have been missed, so read everything again. */
export type FeedEvent = StoreChange | { kind: 'resync' };

export interface ChangeFeed {
  /**
   * Tells every other control on this database. Best effort: it rejects when the database
   * cannot be reached, and a control whose feed was cut hears `resync` when it is back.
   */
  publish(change: StoreChange): Promise<void>;
  /** Calls `listener` for each change another control publishes; returns the unsubscribe function. */
  subscribe(listener: (event: FeedEvent) => void): () => void;
  close(): Promise<void>;
}

/** A store one control has to itself. */
export const NO_FEED: ChangeFeed = {
  publish: async () => {},
  subscribe: () => () => {},
  close: async () => {},
};

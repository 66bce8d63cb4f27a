import type { Logger } from 'pino';
import { routeOf, storedRoutes } from './agents/endpoint-routes.ts';
import type { JobSignal } from './agents/job-signal.ts';
import { readSharedObservation, type IdleMonitor, type SharedObservation } from './idle/idle-monitor.ts';
import type { AppSessions } from './keys/app-sessions.ts';
import type { ConsoleSessions } from './keys/console-sessions.ts';
import type { RouteLog } from './routes/route-log.ts';
import { NO_FEED, type ChangeFeed } from './store/change-feed.ts';
import type { Store } from './store/store.ts';

/** How often every route is read again, in case a change notice was lost on the way. */
export const RESYNC_EVERY_MS = 30_000;
/** How often the instances changed since the last look are read (the store numbers every change). */
export const POLL_EVERY_MS = 2_000;

export interface FollowParts {
  store: Store;
  routes: RouteLog;
  appSessions: AppSessions;
  consoleSessions: ConsoleSessions;
  /** Takes what agents and gateways reported to the other controls. */
  idle?: IdleMonitor;
  /** Wakes this control's waiting leases when another queued a job. */
  jobs?: JobSignal;
  log: Logger;
  resyncEveryMs?: number;
  pollEveryMs?: number;
}

/**
 * Several controls on one database (docs/store.md): what this one keeps in memory follows
 * what the others change, through the store's change feed.
 * - Routes: each route change here is published (its instance ids); a change published by
 *   another control is read back from the store (a route is a function of its instance) and
 *   applied to this control's route log, which its gateways follow. The instances changed since
 *   the last look (a sequence numbers every change) are read every 2 s, and every route when
 *   the feed was cut and every 30 s, in case a notice was lost.
 * - App session revocations (and the dashboard sessions they end) and dashboard sign-outs:
 *   read again when another control added one.
 * - A queued job wakes the leases waiting here.
 * - Idle observations (agents' samples, gateways' traffic) that reached another control go
 *   to this one's idle monitor, so that whichever control leads decides on all of them.
 * Nothing to follow on a store one control has to itself (SQLite). Returns the stop function,
 * with `ready`: settled once the first full read (at start) is done.
 */
export function followOtherControls(parts: FollowParts): (() => void) & { ready: Promise<void> } {
  const { store, routes, appSessions, consoleSessions, log } = parts;
  if (store.changes === NO_FEED) return Object.assign(() => {}, { ready: Promise.resolve() });
  // Changes from the feed are applied in order, one at a time; they are not published again.
  let applying = false;
  let queue: Promise<void> = Promise.resolve();
  const run = (what: string, work: () => Promise<void>): Promise<void> => {
    queue = queue.then(work).catch((err: unknown) => log.warn({ err }, `following other controls: ${what} failed`));
    return queue;
  };
  const apply = (change: () => void) => {
    applying = true;
    try {
      change();
    } finally {
      applying = false;
    }
  };
  /**
   * Reads from the store, then applies to the route log, unless a change of this control's own
   * landed in the log meanwhile: what was read may predate it, so it is read again (a few
   * times; a busy control's next full read comes soon anyway).
   */
  const readThenApply = async <T>(read: () => Promise<T>, change: (value: T) => void): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = routes.version;
      const value = await read();
      if (routes.version !== version) continue;
      apply(() => change(value));
      return;
    }
  };
  const resyncRoutes = () => run('reading every route again', () => readThenApply(() => storedRoutes(store), (all) => routes.replace(all)));
  const readRoutesOf = async (ids: readonly string[]) => {
    for (const id of ids) {
      await readThenApply(() => store.instances.get(id), (instance) => {
        const route = instance && routeOf(instance);
        if (route) routes.upsert(route);
        else routes.remove(id);
      });
    }
  };
  // The prompt is the notice; the poll is what makes a lost notice cost seconds, not the 30 s of
  // the full read. Changes committed out of their numbers' order can slip past it: the full read
  // has those. Changes this control made itself are read back too (cheap, and their route is as stored).
  // The first full read comes after the newest change number is taken, so nothing falls between.
  let seen: number | undefined;
  const ready = run('reading every route at start', async () => {
    seen = (await store.instances.changedSince(Infinity)).seq;
    await readThenApply(() => storedRoutes(store), (all) => routes.replace(all));
  });
  const poll = () => run('reading changed instances', async () => {
    if (seen === undefined) return;
    const changed = await store.instances.changedSince(seen);
    seen = changed.seq;
    await readRoutesOf(changed.ids);
  });

  const stopPublishing = routes.subscribe((delta) => {
    if (applying) return;
    const instances = [...delta.upsert.map((r) => r.id), ...delta.remove];
    store.changes.publish({ kind: 'routes', instances }).catch((err: unknown) => log.warn({ err }, 'telling other controls of a route change failed; they read every route again within 30 s'));
  });
  const stopListening = store.changes.subscribe((event) => {
    if (event.kind === 'routes') {
      run('reading changed routes', () => readRoutesOf(event.instances));
    } else if (event.kind === 'sessions') {
      run('reading session revocations and sign-outs', () => reloadSessions(store, appSessions, consoleSessions, Date.now()));
    } else if (event.kind === 'jobs') {
      parts.jobs?.heard();
    } else if (event.kind === 'idle') {
      parts.idle?.replay(event.observations.map(readSharedObservation).filter((o) => o !== undefined));
    } else {
      log.info('the store\'s change feed is back: reading routes and revocations again');
      resyncRoutes();
      run('reading session revocations and sign-outs', () => reloadSessions(store, appSessions, consoleSessions, Date.now()));
    }
  });
  const timer = setInterval(resyncRoutes, parts.resyncEveryMs ?? RESYNC_EVERY_MS);
  timer.unref();
  const polling = setInterval(poll, parts.pollEveryMs ?? POLL_EVERY_MS);
  polling.unref();
  const stop = () => {
    clearInterval(timer);
    clearInterval(polling);
    stopPublishing();
    stopListening();
  };
  return Object.assign(stop, { ready });
}

/**
 * What ends sessions, read from the store into memory: app session revocations (a user's `*`
 * one also ends their dashboard sessions) and dashboard sign-outs. At start, and whenever
 * another control changed them.
 */
export async function reloadSessions(store: Store, appSessions: AppSessions, consoleSessions: ConsoleSessions, now: number): Promise<void> {
  for (const r of await appSessions.reload()) if (r.instance === '*') consoleSessions.endSessionsOf(r.user, r.before);
  consoleSessions.signedOut(await store.signOuts.list(now));
}

/** How often observations go out: each control's share of a second's samples and traffic in one notice (or a few). */
const OBSERVATIONS_EVERY_MS = 1_000;

/**
 * Observations reported to this control, gathered and sent to the other controls once a
 * second. Best effort: a lost batch is a second of one app's signals, which the detector
 * tolerates (a verdict holds until the next sample).
 */
export class ObservationOutbox {
  readonly #feed: ChangeFeed;
  readonly #log: Logger;
  #pending: SharedObservation[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(feed: ChangeFeed, log: Logger) {
    this.#feed = feed;
    this.#log = log;
    this.#timer = setInterval(() => this.flush(), OBSERVATIONS_EVERY_MS);
    this.#timer.unref();
  }

  push(observation: SharedObservation): void {
    this.#pending.push(observation);
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const observations = this.#pending;
    this.#pending = [];
    this.#feed.publish({ kind: 'idle', observations }).catch((err: unknown) => this.#log.warn({ err, dropped: observations.length }, 'telling other controls of idle observations failed'));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

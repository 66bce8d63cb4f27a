import type { Logger } from 'pino';
import { routeOf, storedRoutes } from './agents/endpoint-routes.ts';
import type { JobSignal } from './agents/job-signal.ts';
import { readSharedObservation, type IdleMonitor, type SharedObservation } from './idle/idle-monitor.ts';
import type { AppSessions } from './keys/app-sessions.ts';
import type { ConsoleSessions } from './keys/console-sessions.ts';
import type { Route } from '../protocol/route.ts';
import { canonicalJson } from './routes/route-log.ts';
import type { RouteLog } from './routes/route-log.ts';
import { SharedRouteLog } from './routes/shared-route-log.ts';
import { NO_FEED, type ChangeFeed } from './store/change-feed.ts';
import type { Store } from './store/store.ts';

/** How often every route is read again, in case a change notice was lost on the way. */
export const RESYNC_EVERY_MS = 30_000;
/** How often the instances changed since the last look are read (the store numbers every change). */
export const POLL_EVERY_MS = 2_000;

export interface FollowParts {
  store: Store;
  /** A SharedRouteLog on a store with a change feed. */
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
 * - Routes: every control's route log is the store's shared route table (routes/shared-route-log.ts);
 *   a notice from another control that it changed makes this one read the changes. The table is
 *   read every 2 s in case a notice was lost, and compared with the instances (a route is a
 *   function of its instance): those changed since the last look (a sequence numbers every
 *   change) every 2 s, every one when the feed was cut and every 30 s, in case a control died
 *   between writing an instance and its route.
 * - App session revocations (and the dashboard sessions they end) and dashboard sign-outs:
 *   read again when another control added one.
 * - A queued job wakes the leases waiting here.
 * - Idle observations (agents' samples, gateways' traffic) that reached another control go
 *   to this one's idle monitor, so that whichever control leads decides on all of them.
 * Nothing to follow on a store one control has to itself (SQLite). Returns the stop function,
 * with `ready`: settled once the first full read (at start) is done.
 */
export function followOtherControls(parts: FollowParts): (() => void) & { ready: Promise<void> } {
  const { store, appSessions, consoleSessions, log } = parts;
  if (store.changes === NO_FEED) return Object.assign(() => {}, { ready: Promise.resolve() });
  const routes = parts.routes;
  if (!(routes instanceof SharedRouteLog)) throw new TypeError('controls sharing a store share its route table: pass a SharedRouteLog');
  // Reads and comparisons run one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  const run = (what: string, work: () => Promise<void>): Promise<void> => {
    queue = queue.then(work).catch((err: unknown) => log.warn({ err }, `following other controls: ${what} failed`));
    return queue;
  };
  /**
   * Makes the shared table hold the stored instances' routes (all of them, or those of `ids`):
   * what a control that died between writing an instance and its route left undone. Compared
   * at a version, and written only if the table is still at it, so that a route read before
   * a newer change never overwrites it.
   */
  const compare = (ids?: readonly string[]) => run('comparing routes with the instances', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await routes.catchUp();
      const version = routes.version;
      const diff = ids ? await differenceOf(ids) : await differenceOfAll();
      if (diff.upsert.length === 0 && diff.remove.length === 0) return;
      if ((await routes.reconcile(diff, version)) === 'done') return;
    }
  });
  const differenceOf = async (ids: readonly string[]) => {
    const diff = { upsert: [] as Route[], remove: [] as string[] };
    for (const id of ids) {
      const instance = await store.instances.get(id);
      const route = instance && routeOf(instance);
      if (route) {
        if (!sameRoute(routes.get(id), route)) diff.upsert.push(route);
      } else if (routes.get(id)) diff.remove.push(id);
    }
    return diff;
  };
  const differenceOfAll = async () => {
    const stored = await storedRoutes(store);
    const ids = new Set(stored.map((r) => r.id));
    return {
      upsert: stored.filter((r) => !sameRoute(routes.get(r.id), r)),
      remove: routes.snapshot().routes.map((r) => r.id).filter((id) => !ids.has(id)),
    };
  };
  const resyncRoutes = () => compare();
  // The prompt is the notice; the poll is what makes a lost notice cost seconds, not the 30 s of
  // the full comparison. Changes committed out of their numbers' order can slip past the poll of
  // the instances' change numbers: the full comparison has those.
  // The first full comparison comes after the newest change number is taken, so nothing falls between.
  let seen: number | undefined;
  const ready = run('reading every route at start', async () => {
    seen = (await store.instances.changedSince(Infinity)).seq;
  }).then(() => compare());
  const poll = () => run('reading changed instances', async () => {
    await routes.catchUp();
    if (seen === undefined) return;
    const changed = await store.instances.changedSince(seen);
    seen = changed.seq;
    if (changed.ids.length) void compare(changed.ids);
  });

  const stopListening = store.changes.subscribe((event) => {
    if (event.kind === 'routes') {
      routes.catchUp().catch((err: unknown) => log.warn({ err }, 'following other controls: reading the route table failed'));
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
    stopListening();
  };
  return Object.assign(stop, { ready });
}

function sameRoute(a: Route | undefined, b: Route): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
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

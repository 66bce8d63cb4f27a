import type { Logger } from 'pino';
import type { ChangeFeed } from '../store/change-feed.ts';

/*
 * Wakes the agents' waiting leases (POST /api/v1/agent/lease?wait=) when a job was queued, so
 * that a launch does not wait for the next look at the queues: one queued through this
 * control wakes its waiting leases at once and, over the store's change feed, those of every
 * other control on the database. The leases still look every poll interval anyway (a job
 * queued again after its lease expired, a notice lost).
 */
export class JobSignal {
  readonly #waiters = new Set<() => void>();
  readonly #feed: ChangeFeed | undefined;
  readonly #log: Logger | undefined;

  constructor(feed?: ChangeFeed, log?: Logger) {
    this.#feed = feed;
    this.#log = log;
  }

  /** Resolves after `ms`, or earlier when a job is queued. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** A job was queued through this control: wake its waiting leases, and tell the other controls. */
  queued(): void {
    this.heard();
    this.#feed?.publish({ kind: 'jobs' }).catch((err: unknown) => this.#log?.warn({ err }, 'telling other controls of a queued job failed; their agents find it at their next look'));
  }

  /** Another control queued a job. */
  heard(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

import type { Logger } from 'pino';
import type { ConsoleFeed } from '../console/console-feed.ts';
import { updateQueueNotices } from '../instances/queue-notice.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { Clock, Job, Store } from '../store/store.ts';
import { dropStaleRoutes } from './endpoint-routes.ts';

/*
 * Control's periodic pass over agents and leases (DESIGN.md "Agent lifecycle", "Queues"), on
 * one control at a time of several on one database (`lead`):
 * - a lease that ran out puts its job back in its queue and the instance back to queued,
 *   exactly once (the store's `expire` is one transaction that returns each job once);
 * - an agent silent past its grace goes offline and its instances show "agent offline";
 * - silent for a second grace, its instances fail with "agent gone";
 * - a route whose instance is finished or lost its endpoint leaves the route log, whatever
 *   path the instance took there;
 * - a queued instance whose queue no agent serves any more (or yet) says so
 *   (instances/queue-notice.ts): agents go offline here, and are added without a call.
 * The lease timeout is shorter than the grace, so a lost agent's starting jobs are re-queued
 * before its running apps are failed.
 *
 * Silence is counted from this sweeper's start at the earliest, and again from the end of a gap
 * in its passes longer than `outageMs` (this control suspended, or its store unreachable so that
 * passes failed): agents could not report while control or its store was away, so after such an
 * outage each gets a fresh grace instead of every instance failing at the first pass.
 */

export const AGENT_OFFLINE = 'agent offline';
export const AGENT_GONE = 'agent gone';

const HELD = ['starting', 'active', 'idle', 'stopping'] as const;

export interface SweeperOptions {
  store: Store;
  routes: RouteLog;
  clock: Clock;
  /** Silence after which an agent is offline; as long again and its instances fail. */
  graceMs: number;
  /** A gap between successful passes longer than this gives every agent a fresh grace (default: none). */
  outageMs?: number;
  /**
   * Several controls on one database: true while this one is to sweep (it holds the store's
   * lock); a pass on another control does nothing. A control that takes the sweep over after
   * a gap gives every agent a fresh grace, as after an outage.
   */
  lead?: () => Promise<boolean>;
  log?: Logger;
  /** Where the queue notices' console lines are announced. */
  console?: ConsoleFeed;
}

export interface SweepResult {
  expired: Job[];
  /** Agents marked offline by this pass. */
  offline: string[];
  /** Instances failed by this pass. */
  failed: string[];
  /** Routes removed by this pass. */
  dropped: string[];
  /** Queued instances whose queue notice this pass set, changed or cleared. */
  noticed: string[];
}

export class AgentSweeper {
  readonly #o: SweeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SweepResult> | undefined;
  /** Silence is counted from here at the earliest: this sweeper's start, or the end of an outage. */
  #since: number;
  #lastPass: number | undefined;
  /** Another control held the sweep at the last pass. */
  #following = false;

  constructor(options: SweeperOptions) {
    this.#o = options;
    this.#since = options.clock();
  }

  /** One pass; a pass asked for while one runs waits for it and gets its result. */
  sweep(): Promise<SweepResult> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Sweeps every `intervalMs` until `stop`; the timer does not keep the process alive. */
  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.#o.log?.error({ err }, 'agent sweep failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #sweep(): Promise<SweepResult> {
    const { store, routes, clock, graceMs, outageMs, log, lead } = this.#o;
    if (lead && !(await lead())) {
      this.#following = true;
      return { expired: [], offline: [], failed: [], dropped: [], noticed: [] };
    }
    const now = clock();
    if (this.#following) {
      // Taking the sweep over from another control: silence is counted from here.
      this.#following = false;
      this.#since = Math.max(this.#since, now);
    } else if (outageMs !== undefined && this.#lastPass !== undefined && now - this.#lastPass > outageMs) {
      this.#since = now;
      log?.warn({ gapMs: now - this.#lastPass }, 'no agent sweep for a while (control or its store was away): every agent gets a fresh grace');
    }
    const expired = await store.jobs.expire(now);
    for (const job of expired) log?.warn({ instance: job.instance, agent: job.agent }, 'lease expired: job queued again');
    const offline: string[] = [];
    const failed: string[] = [];
    for (const agent of await store.agents.list()) {
      if (agent.lastSeen === null) continue;
      const silent = now - Math.max(agent.lastSeen, this.#since);
      if (silent < graceMs) continue;
      if (agent.state !== 'offline') {
        await store.agents.setState(agent.id, 'offline');
        offline.push(agent.id);
        log?.warn({ agent: agent.id, silentMs: silent }, 'agent offline');
      }
      const instances = await store.instances.list({ agent: agent.id, status: [...HELD] });
      const gone = silent >= 2 * graceMs;
      for (const instance of instances) {
        if (gone) {
          try {
            await store.instances.updateStatus(instance.id, 'failed', AGENT_GONE);
            failed.push(instance.id);
          } catch (err) {
            // It changed under us (a late report); the next pass looks again.
            log?.warn({ err, instance: instance.id }, 'could not fail the instance of a gone agent');
          }
        } else if (instance.statusReason !== AGENT_OFFLINE) {
          await store.instances.setStatusReason(instance.id, AGENT_OFFLINE);
        }
      }
    }
    const dropped = await dropStaleRoutes(store, routes);
    const noticed = await updateQueueNotices({ store, console: this.#o.console, log });
    this.#lastPass = now;
    return { expired, offline, failed, dropped, noticed };
  }
}

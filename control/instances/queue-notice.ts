import type { Logger } from 'pino';
import type { ConsoleFeed } from '../console/console-feed.ts';
import type { Agent, Store } from '../store/store.ts';

/*
 * Says why a queued instance waits when no agent takes its queue ("no agent serves queue
 * gpu"): on the instance (`statusReason`) and as a console line, instead of a silent
 * `queued`. The words change when the agents of the queue do, and go once one is online;
 * leasing the job clears them anyway (JobStore.lease writes a null reason).
 *
 * Called after what changes the answer: a launch, an agent coming online or changing its
 * queues (heartbeat), a drain or resume, and the sweeper's pass (agents going offline, agents
 * added): each reads the agents and the queued instances again, so a missed call only delays.
 * Only its own words are replaced or cleared: another reason (a lease that expired) stays
 * while an agent serves the queue.
 */

const PREFIX = 'no agent serves queue ';
/** Agents named in a notice, at most. */
const NAMED = 3;

/** True for a reason this module wrote. */
export function isQueueNotice(reason: string | null): boolean {
  return reason !== null && reason.startsWith(PREFIX);
}

/** Why an agent of the queue takes no job, in a few words; undefined when it takes them. */
function why(agent: Agent): string | undefined {
  if (agent.drain) return `agent ${agent.name} is draining`;
  if (agent.state === 'new') return `agent ${agent.name} has not connected yet`;
  if (agent.state === 'offline') return `agent ${agent.name} is offline`;
  return undefined;
}

export interface QueueNotice {
  /** The reason a queued instance of the queue should show, null when an agent takes its jobs. */
  reason: string | null;
  /** An agent that takes the queue's jobs, when there is one. */
  servedBy?: Agent;
}

/** Pure: what a queued instance of `queue` should say, given every agent. */
export function queueNotice(queue: string, agents: readonly Agent[]): QueueNotice {
  const serving = agents.filter((a) => a.queues.includes(queue));
  const taking = serving.find((a) => why(a) === undefined);
  if (taking) return { reason: null, servedBy: taking };
  const reasons = serving.slice(0, NAMED).map((a) => why(a)!);
  if (serving.length > NAMED) reasons.push(`${serving.length - NAMED} more`);
  return { reason: `${PREFIX}${queue}${reasons.length ? ` (${reasons.join(', ')})` : ''}` };
}

/**
 * Pure: the reason to write over `current` (undefined: leave it). A notice replaces any reason
 * (it says more than an expired lease); a served queue clears only a notice.
 */
export function nextReason(current: string | null, notice: QueueNotice): string | null | undefined {
  if (notice.reason !== null) return notice.reason === current ? undefined : notice.reason;
  return isQueueNotice(current) ? null : undefined;
}

/** The console line for a change of reason. */
export function noticeLine(queue: string, notice: QueueNotice): string {
  if (notice.reason !== null) return `[wharf] waiting: ${notice.reason}; the instance starts when an agent that serves queue ${queue} is online`;
  return `[wharf] agent ${notice.servedBy!.name} serves queue ${queue} now: waiting for it to take the instance`;
}

export interface QueueNoticeDeps {
  store: Store;
  /** Console followers are told of the line; without it the line is stored only. */
  console?: ConsoleFeed;
  log?: Logger;
}

/**
 * Sets or clears the notice of every queued instance (of `queues` only, when given). Returns
 * the ids whose reason changed. A write is conditional on the reason read, so two passes at
 * once (a heartbeat and the sweeper) write, and log to the console, once.
 */
export async function updateQueueNotices(deps: QueueNoticeDeps, queues?: readonly string[]): Promise<string[]> {
  const { store } = deps;
  let queued: Awaited<ReturnType<Store['instances']['list']>>;
  let agents: Agent[];
  try {
    queued = (await store.instances.list({ status: 'queued' })).filter((i) => !queues || queues.includes(i.queue));
    if (queued.length === 0) return [];
    agents = await store.agents.list();
  } catch (err) {
    // Best effort: the launch or heartbeat that asked must not fail for it (a launch retried
    // after a 500 would make a second instance); the sweeper's next pass says it.
    deps.log?.warn({ err: (err as Error).message }, 'queue notices not updated');
    return [];
  }
  const notices = new Map<string, QueueNotice>();
  const changed: string[] = [];
  for (const instance of queued) {
    let notice = notices.get(instance.queue);
    if (!notice) notices.set(instance.queue, (notice = queueNotice(instance.queue, agents)));
    const next = nextReason(instance.statusReason, notice);
    if (next === undefined) continue;
    try {
      if (!(await store.instances.setStatusReason(instance.id, next, { status: 'queued', reason: instance.statusReason }))) continue;
      const seq = await store.console.append(instance.id, [{ text: noticeLine(instance.queue, notice), stream: 'event' }]);
      deps.console?.notify(instance.id, seq);
      changed.push(instance.id);
    } catch (err) {
      // Removed or leased meanwhile: the next pass reads it again.
      deps.log?.warn({ err: (err as Error).message, instance: instance.id }, 'queue notice not written');
    }
  }
  return changed;
}

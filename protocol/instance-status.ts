import { Type } from '@sinclair/typebox';

/*
 * The status table of DESIGN.md ("Statuses (contract)") as data. Control enforces it on
 * every change; agents, the CLI and the dashboard read it. Pure: no I/O, no clock.
 */

export const INSTANCE_STATUSES = ['queued', 'starting', 'active', 'idle', 'stopping', 'stopped', 'failed'] as const;

export const InstanceStatus = Type.Union(INSTANCE_STATUSES.map((s) => Type.Literal(s)), {
  description: INSTANCE_STATUSES.map((s) => `"${s}"`).join(', '),
});
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export interface TransitionRule {
  from: readonly InstanceStatus[] | 'any';
  to: InstanceStatus;
  when: string;
}

/** One row per line of DESIGN.md's table, in its order. */
export const TRANSITIONS: readonly TransitionRule[] = [
  { from: ['queued'], to: 'starting', when: 'an agent leased the job' },
  { from: ['queued'], to: 'stopped', when: 'stopped before any agent took it' },
  { from: ['starting'], to: 'queued', when: 'the lease expired (agent lost)' },
  { from: ['starting'], to: 'active', when: 'readiness passed' },
  { from: ['active'], to: 'idle', when: 'idle window passed' },
  { from: ['idle'], to: 'active', when: 'activity again' },
  { from: ['starting', 'active', 'idle'], to: 'stopping', when: 'user stop, idle limit, drain' },
  { from: ['stopping'], to: 'stopped', when: 'snapshot uploaded, container removed' },
  { from: ['starting', 'active', 'idle'], to: 'stopped', when: 'the app exited 0 by itself (snapshot taken; container kept until pruned)' },
  // "any" means any other status: a status to itself is no change, so failed → failed is refused.
  { from: 'any', to: 'failed', when: 'with a reason: bad image, exit code, snapshot upload failure, agent gone past its grace' },
];

/** What the dashboard shows for a status; the rest show as they are. */
export const STATUS_LABELS: Readonly<Record<InstanceStatus, string>> = {
  queued: 'queued',
  starting: 'setting up',
  active: 'active',
  idle: 'idle',
  stopping: 'stopping',
  stopped: 'stopped',
  failed: 'failed',
};

function ruleFor(from: InstanceStatus, to: InstanceStatus): TransitionRule | undefined {
  if (from === to) return undefined;
  return TRANSITIONS.find((rule) => rule.to === to && (rule.from === 'any' || rule.from.includes(from)));
}

export function isInstanceStatus(value: unknown): value is InstanceStatus {
  return typeof value === 'string' && (INSTANCE_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: InstanceStatus, to: InstanceStatus): boolean {
  return ruleFor(from, to) !== undefined;
}

/** When the table allows `from → to`, in its words; undefined when it does not. */
export function transitionReason(from: InstanceStatus, to: InstanceStatus): string | undefined {
  return ruleFor(from, to)?.when;
}

/** The statuses `from` may move to, in the order of INSTANCE_STATUSES. */
export function nextStatuses(from: InstanceStatus): InstanceStatus[] {
  return INSTANCE_STATUSES.filter((to) => canTransition(from, to));
}

/** No way out but `failed`: the instance no longer runs anywhere. */
export function isFinished(status: InstanceStatus): boolean {
  return status === 'stopped' || status === 'failed';
}

/** A status change the table does not allow. Control answers it with 409. */
export class IllegalTransitionError extends Error {
  readonly code = 'CTL_ILLEGAL_TRANSITION';
  readonly from: InstanceStatus;
  readonly to: InstanceStatus;
  constructor(from: InstanceStatus, to: InstanceStatus, detail?: string) {
    const allowed = nextStatuses(from);
    super(`an instance cannot go from "${from}" to "${to}"` +
      (detail ? `: ${detail}` : allowed.length ? ` (from "${from}" it can go to ${allowed.map((s) => `"${s}"`).join(', ')})` : ''));
    this.from = from;
    this.to = to;
  }
}

/** Returns `to` when the table allows `from → to`, else throws IllegalTransitionError. */
export function transition(from: InstanceStatus, to: InstanceStatus): InstanceStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

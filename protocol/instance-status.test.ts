import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import {
  INSTANCE_STATUSES, InstanceStatus, IllegalTransitionError, STATUS_LABELS, canTransition, isFinished, isInstanceStatus,
  nextStatuses, transition, transitionReason, type InstanceStatus as Status,
} from './instance-status.ts';

/*
 * DESIGN.md's table written out as a grid, independently of the rules in the module:
 * rows are `from`, columns are `to`, in the order
 *   queued starting active idle stopping stopped failed
 */
const GRID: Record<Status, string> = {
  queued: '. x . . . x x',
  starting: 'x . x . x x x',
  active: '. . . x x x x',
  idle: '. . x . x x x',
  stopping: '. . . . . x x',
  stopped: '. . . . . . x',
  failed: '. . . . . . .',
};

const pairs = INSTANCE_STATUSES.flatMap((from) =>
  INSTANCE_STATUSES.map((to, i) => ({ from, to, allowed: GRID[from].split(' ')[i] === 'x' })));

describe('instance status table', () => {
  it('lists the seven statuses of DESIGN.md', () => {
    expect([...INSTANCE_STATUSES]).toEqual(['queued', 'starting', 'active', 'idle', 'stopping', 'stopped', 'failed']);
    expect(pairs).toHaveLength(49);
  });

  it.each(pairs)('$from → $to allowed: $allowed', ({ from, to, allowed }) => {
    expect(canTransition(from, to)).toBe(allowed);
    expect(transitionReason(from, to) !== undefined).toBe(allowed);
    if (allowed) {
      expect(transition(from, to)).toBe(to);
    } else {
      let error: unknown;
      try {
        transition(from, to);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(IllegalTransitionError);
      expect((error as IllegalTransitionError).code).toBe('CTL_ILLEGAL_TRANSITION');
      expect((error as IllegalTransitionError).from).toBe(from);
      expect((error as IllegalTransitionError).to).toBe(to);
      // The message names both statuses.
      expect((error as Error).message).toContain(`"${from}"`);
      expect((error as Error).message).toContain(`"${to}"`);
    }
  });

  it('says when a transition happens, in the words of the table', () => {
    expect(transitionReason('starting', 'queued')).toBe('the lease expired (agent lost)');
    expect(transitionReason('stopping', 'failed')).toMatch(/with a reason/);
  });

  it('lists where a status can go', () => {
    expect(nextStatuses('queued')).toEqual(['starting', 'stopped', 'failed']);
    expect(nextStatuses('failed')).toEqual([]);
  });

  it('knows the finished statuses and the dashboard label of starting', () => {
    expect(INSTANCE_STATUSES.filter(isFinished)).toEqual(['stopped', 'failed']);
    expect(STATUS_LABELS.starting).toBe('setting up');
  });

  it('checks a status value, by function and by schema', () => {
    expect(isInstanceStatus('idle')).toBe(true);
    expect(isInstanceStatus('running')).toBe(false);
    expect(isInstanceStatus(undefined)).toBe(false);
    expect(Value.Check(InstanceStatus, 'stopping')).toBe(true);
    expect(Value.Check(InstanceStatus, 'STOPPING')).toBe(false);
  });
});

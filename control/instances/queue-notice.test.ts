import { describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import type { Agent, Store } from '../store/store.ts';
import { isQueueNotice, nextReason, noticeLine, queueNotice, updateQueueNotices } from './queue-notice.ts';

const agent = (name: string, queues: string[], state: Agent['state'] = 'online', drain = false): Agent =>
  ({ id: `a-${name}`, name, key: 'k', queues, state, lastSeen: state === 'new' ? null : 1, drain, resources: null, created: 0 });

describe('queue notice (pure)', () => {
  it('says that no agent serves a queue, naming why those of the queue take no job', () => {
    expect(queueNotice('gpu', [])).toEqual({ reason: 'no agent serves queue gpu' });
    expect(queueNotice('gpu', [agent('cpu1', ['default'])])).toEqual({ reason: 'no agent serves queue gpu' });
    expect(queueNotice('gpu', [agent('g1', ['gpu'], 'offline'), agent('g2', ['default', 'gpu'], 'online', true), agent('g3', ['gpu'], 'new')]).reason)
      .toBe('no agent serves queue gpu (agent g1 is offline, agent g2 is draining, agent g3 has not connected yet)');
    const many = ['a', 'b', 'c', 'd', 'e'].map((n) => agent(n, ['gpu'], 'offline'));
    expect(queueNotice('gpu', many).reason).toMatch(/agent c is offline, 2 more\)$/);
  });

  it('finds the queue served by an online agent that does not drain', () => {
    const g2 = agent('g2', ['default', 'gpu']);
    expect(queueNotice('gpu', [agent('g1', ['gpu'], 'offline'), g2])).toEqual({ reason: null, servedBy: g2 });
  });

  it('writes a notice over any reason, and clears only its own', () => {
    const none = queueNotice('gpu', []);
    const served = queueNotice('gpu', [agent('g1', ['gpu'])]);
    expect(nextReason(null, none)).toBe('no agent serves queue gpu');
    expect(nextReason('the lease of agent a-1 expired (agent lost); waiting for another agent', none)).toBe('no agent serves queue gpu');
    expect(nextReason('no agent serves queue gpu', none)).toBeUndefined();
    expect(nextReason('no agent serves queue gpu', served)).toBeNull();
    expect(nextReason('the lease of agent a-1 expired (agent lost); waiting for another agent', served)).toBeUndefined();
    expect(nextReason(null, served)).toBeUndefined();
    expect(isQueueNotice('no agent serves queue gpu (agent g1 is offline)')).toBe(true);
    expect(isQueueNotice('agent offline')).toBe(false);
  });

  it('words the console lines for both changes', () => {
    expect(noticeLine('gpu', queueNotice('gpu', []))).toContain('no agent serves queue gpu');
    expect(noticeLine('gpu', queueNotice('gpu', [agent('g1', ['gpu'])]))).toContain('agent g1 serves queue gpu');
  });
});

describe('updateQueueNotices', () => {
  it('is best effort: a store that cannot list answers nothing changed instead of failing the launch or heartbeat', async () => {
    // The store's own failure (a locked database) is what is simulated; nothing else is faked.
    const store = { instances: { list: async () => { throw new Error('SQLITE_BUSY: database is locked'); } } } as unknown as Store;
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o) } as unknown as Logger;
    await expect(updateQueueNotices({ store, log }, ['gpu'])).resolves.toEqual([]);
    expect(warnings).toHaveLength(1);
  });
});

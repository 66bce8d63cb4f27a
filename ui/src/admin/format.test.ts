import { describe, expect, it } from 'vitest';
import { agentState, ago, drainState, hostResources, passwordProblem } from './format.ts';

const GiB = 1024 ** 3;

describe('admin pages formatting', () => {
  it('checks a new password: 8 characters at least, and the confirmation matches', () => {
    expect(passwordProblem('short', 'short')).toMatch(/at least 8 characters/);
    expect(passwordProblem('long enough', 'long enougH')).toMatch(/do not match/);
    expect(passwordProblem('long enough', 'long enough')).toBeNull();
  });

  it('says since when, or never', () => {
    expect(ago(null, 0)).toBe('never');
    expect(ago('2026-01-01T00:00:00.000Z', Date.parse('2026-01-01T00:02:30Z'))).toBe('2m ago');
  });

  it('shows an agent state with an icon and words', () => {
    expect(agentState('online')).toEqual({ kind: 'online', icon: '●', label: 'online' });
    expect(agentState('offline')).toMatchObject({ kind: 'offline', label: 'offline' });
    expect(agentState('new')).toMatchObject({ kind: 'new', label: 'never connected' });
    expect(agentState('weird')).toMatchObject({ kind: 'unknown', label: 'weird' });
  });

  it('tells draining (apps still stopping) from drained', () => {
    const app = { id: 'i1', name: 'a', status: 'stopping', statusReason: 'agent drain' };
    expect(drainState({ drain: false, apps: [app] })).toEqual({ kind: 'none', label: 'taking jobs' });
    expect(drainState({ drain: true, apps: [app] })).toEqual({ kind: 'draining', label: 'draining (1 app stopping)' });
    expect(drainState({ drain: true, apps: [] })).toEqual({ kind: 'drained', label: 'drained' });
  });

  it('formats host resources: used of total in human bytes, CPU busy, apps of the maximum', () => {
    expect(hostResources({
      cpus: 8, cpuPercent: 12.46, loadAverage: 0.5, memoryTotalBytes: 16 * GiB, memoryAvailableBytes: 12 * GiB,
      diskPath: '/var/lib/docker', diskFreeBytes: 60 * GiB, diskTotalBytes: 100 * GiB, apps: 2, maxApps: 10,
    })).toEqual({
      memory: '4.0 GiB of 16.0 GiB (25%)',
      cpu: '12% busy of 8 CPUs, load 0.50',
      disk: '40.0 GiB of 100.0 GiB (40%)',
      apps: '2 of 10 apps',
    });
  });

  it('shows nothing for what the agent did not report, or reported malformed', () => {
    expect(hostResources(null)).toEqual({ memory: null, cpu: null, disk: null, apps: null });
    expect(hostResources({ memoryTotalBytes: 'lots', diskFreeBytes: null, diskTotalBytes: null, cpuPercent: 3, apps: 1 }))
      .toEqual({ memory: null, cpu: '3% busy', disk: null, apps: '1 app' });
    // Available over total (a racy read) never shows more than 100 % or a negative use.
    expect(hostResources({ memoryTotalBytes: 1024, memoryAvailableBytes: 2048 }).memory).toBe('0 B of 1.0 KiB (0%)');
  });
});

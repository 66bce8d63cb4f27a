import { describe, expect, it } from 'vitest';
import { age, duration, statusDisplay, statusWord } from './format.ts';

describe('instance list formatting', () => {
  it('words a status the same everywhere, and leaves an unknown one as it came', () => {
    expect(statusWord('starting')).toBe('setting up');
    expect(statusWord('active')).toBe('active');
    expect(statusWord('rebooting')).toBe('rebooting');
  });

  it('shows starting as "setting up", a failure with its reason, and a lost agent as "agent offline"', () => {
    expect(statusDisplay({ status: 'starting', statusReason: null })).toEqual({ kind: 'starting', label: 'setting up', detail: null });
    expect(statusDisplay({ status: 'failed', statusReason: 'exit code 3' })).toEqual({ kind: 'failed', label: 'failed', detail: 'exit code 3' });
    expect(statusDisplay({ status: 'active', statusReason: 'agent offline' })).toMatchObject({ kind: 'offline', label: 'agent offline' });
    expect(statusDisplay({ status: 'stopped', statusReason: 'agent offline' })).toMatchObject({ kind: 'stopped', label: 'stopped' });
  });

  it('writes durations coarsely', () => {
    expect([0, 45, 60, 3599, 3600, 3660 + 240, 86_400, 90_000].map(duration)).toEqual(['0s', '45s', '1m', '59m', '1h', '1h 5m', '1d', '1d 1h']);
    expect(age('2026-01-01T00:00:00.000Z', Date.parse('2026-01-01T00:02:30Z'))).toBe('2m');
  });
});

import { describe, expect, it } from 'vitest';
import { SessionRevocations } from './session-revocations.ts';

describe('SessionRevocations', () => {
  const t = 1_767_225_600_000; // a revocation time, Unix ms

  it('refuses what a user was issued before the time, on the instance or on every one', () => {
    const r = new SessionRevocations();
    expect(r.refuses('u-1', 'r1', 0)).toBe(false);
    r.replace([{ user: 'u-1', instance: '*', before: t }, { user: 'u-2', instance: 'r1', before: t }]);
    expect(r.size).toBe(2);
    // u-1: everywhere; a credential issued in the revocation's second but before it is refused.
    expect(r.refuses('u-1', 'r1', t / 1000 - 1)).toBe(true);
    expect(r.refuses('u-1', 'r9', (t - 1) / 1000)).toBe(true);
    expect(r.refuses('u-1', 'r1', t / 1000)).toBe(false); // issued at the revocation: a new sign-in
    expect(r.refuses('u-1', 'r1', t / 1000 + 1)).toBe(false);
    // u-2: r1 only.
    expect(r.refuses('u-2', 'r1', t / 1000 - 1)).toBe(true);
    expect(r.refuses('u-2', 'r2', t / 1000 - 1)).toBe(false);
    // Others: never.
    expect(r.refuses('u-3', 'r1', 0)).toBe(false);
  });

  it('refuses a credential that does not say when it was issued, where a revocation applies', () => {
    const r = new SessionRevocations();
    r.replace([{ user: 'u-1', instance: 'r1', before: t }]);
    expect(r.refuses('u-1', 'r1', undefined)).toBe(true);
    expect(r.refuses('u-1', 'r2', undefined)).toBe(false);
  });

  it('takes the later of a user\'s * and instance revocations, and replaces everything on replace', () => {
    const r = new SessionRevocations();
    r.replace([{ user: 'u-1', instance: '*', before: t }, { user: 'u-1', instance: 'r1', before: t + 10_000 }]);
    expect(r.refuses('u-1', 'r1', t / 1000 + 5)).toBe(true);
    expect(r.refuses('u-1', 'r2', t / 1000 + 5)).toBe(false);
    r.replace([]);
    expect(r.refuses('u-1', 'r1', 0)).toBe(false);
    expect(r.size).toBe(0);
  });
});

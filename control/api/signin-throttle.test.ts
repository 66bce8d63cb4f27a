import { describe, expect, it } from 'vitest';
import { addressKey, DEFAULT_SIGNIN_THROTTLE, SigninThrottle, type SigninThrottleOptions, type SigninVerdict } from './signin-throttle.ts';

/** A throttle on a clock the test moves. */
function throttle(options: Partial<SigninThrottleOptions> = {}) {
  let now = 1_767_225_600_000;
  const t = new SigninThrottle(() => now, options);
  return { t, advance: (ms: number) => (now += ms) };
}

const delays = (verdicts: SigninVerdict[]) => verdicts.map((v) => (v.kind === 'go' ? v.delayMs : `refuse ${v.retryAfterS}`));

describe('sign-in throttle', () => {
  it('lets a few failures through at once, then waits longer after each, then refuses the address with a Retry-After', () => {
    const { t } = throttle();
    const verdicts = Array.from({ length: 12 }, (_, i) => t.attempt('203.0.113.7', `user-${i}`));
    expect(delays(verdicts)).toEqual([0, 0, 0, 250, 500, 1000, 2000, 4000, 5000, 5000, 'refuse 60', 'refuse 60']);
  });

  it('ends a refusal when its time has passed, and doubles it at the next failure', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < DEFAULT_SIGNIN_THROTTLE.refuseAfter; i++) t.attempt('203.0.113.7', 'bob');
    advance(45_000);
    expect(t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'refuse', retryAfterS: 15 });
    advance(15_000);
    expect(t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'go', delayMs: 5000 });
    expect(t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'refuse', retryAfterS: 120 });
    // Another address is not refused; the user name only waits.
    expect(t.attempt('198.51.100.1', 'bob')).toEqual({ kind: 'go', delayMs: 5000 });
  });

  it('forgets failures an hour after the last one', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 12; i++) t.attempt('203.0.113.7', 'bob');
    advance(3_600_000);
    expect(t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'go', delayMs: 0 });
    expect(t.size).toEqual({ addresses: 1, users: 1 });
  });

  it('never refuses a user name: from many addresses it only waits, at most maxDelayMs', () => {
    const { t } = throttle();
    const verdicts = Array.from({ length: 50 }, (_, i) => t.attempt(`198.51.100.${i}`, 'alice'));
    expect(verdicts.every((v) => v.kind === 'go')).toBe(true);
    expect(delays(verdicts).slice(0, 6)).toEqual([0, 0, 0, 250, 500, 1000]);
    expect(Math.max(...verdicts.map((v) => (v.kind === 'go' ? v.delayMs : Infinity)))).toBe(DEFAULT_SIGNIN_THROTTLE.maxDelayMs);
  });

  it('counts unknown user names like real ones (the wait tells no one who has an account)', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.attempt(`198.51.100.${i}`, 'no-such-user');
    for (let i = 0; i < 5; i++) t.attempt(`192.0.2.${i}`, 'bob');
    expect(t.attempt('203.0.113.1', 'no-such-user')).toEqual(t.attempt('203.0.113.2', 'bob'));
  });

  it('after the right password: the user\'s wait ends, the address keeps its earlier failures', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.attempt('203.0.113.7', 'mallory-own-account');
    const right = t.attempt('203.0.113.7', 'mallory-own-account');
    t.succeeded('203.0.113.7', 'mallory-own-account');
    expect(right).toEqual({ kind: 'go', delayMs: 1000 });
    // Signing in to one's own account buys no more guesses from that address...
    expect(t.attempt('203.0.113.7', 'victim')).toEqual({ kind: 'go', delayMs: 1000 });
    // ...and the user's own tally is gone.
    expect(t.attempt('198.51.100.1', 'mallory-own-account')).toEqual({ kind: 'go', delayMs: 0 });
  });

  it('counts parallel attempts as they start, so that none slips in under the limit', () => {
    const { t } = throttle({ refuseAfter: 3, freeFailures: 1 });
    const started = Array.from({ length: 5 }, () => t.attempt('203.0.113.7', 'bob'));
    expect(delays(started)).toEqual([0, 250, 500, 'refuse 60', 'refuse 60']);
  });

  it('keeps at most maxEntries addresses and user names, the least recently seen going first', () => {
    const { t } = throttle({ maxEntries: 100 });
    for (let i = 0; i < 5; i++) t.attempt('203.0.113.7', 'bob');
    for (let i = 0; i < 10_000; i++) t.attempt(`10.${i >> 8}.${i & 255}.1`, `user-${i}`);
    expect(t.size).toEqual({ addresses: 100, users: 100 });
    // A tally seen recently stays.
    const { t: t2 } = throttle({ maxEntries: 3 });
    for (let i = 0; i < 4; i++) t2.attempt('203.0.113.7', 'bob');
    for (let i = 0; i < 10; i++) {
      t2.attempt(`10.0.0.${i}`, 'x');
      t2.attempt('203.0.113.7', 'bob');
    }
    expect(t2.attempt('203.0.113.7', 'bob')).toMatchObject({ kind: 'refuse' });
  });

  it('with delayMs 0 it never waits, and still refuses', () => {
    const { t } = throttle({ delayMs: 0, refuseAfter: 4 });
    expect(delays(Array.from({ length: 6 }, () => t.attempt('203.0.113.7', 'bob')))).toEqual([0, 0, 0, 0, 'refuse 60', 'refuse 60']);
  });
});

describe('addressKey', () => {
  it('keeps IPv4 (also IPv4-mapped) and counts IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::')).toBe('0:0:0:0::/64');
  });
});

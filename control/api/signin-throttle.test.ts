import { afterEach, describe, expect, it } from 'vitest';
import { tempStore, type TempStore } from '../store/testing.ts';
import { addressKey, DEFAULT_SIGNIN_THROTTLE, SigninThrottle, type SigninThrottleOptions, type SigninVerdict } from './signin-throttle.ts';

// The throttle's rules, on the embedded store (its tallies' contract on both backends: store/sql/sign-in-state.test.ts).
const stores: TempStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.cleanup();
});

/** A throttle on a clock the test moves. */
function throttle(options: Partial<SigninThrottleOptions> = {}) {
  const store = tempStore();
  stores.push(store);
  const t = new SigninThrottle(store.store.signinFailures, store.clock.read, options);
  return { t, store, advance: (ms: number) => store.clock.advance(ms) };
}

/** `n` attempts one after the other, from `address(i)` for `user(i)`. */
async function attempts(t: SigninThrottle, n: number, address: (i: number) => string, user: (i: number) => string): Promise<SigninVerdict[]> {
  const verdicts: SigninVerdict[] = [];
  for (let i = 0; i < n; i++) verdicts.push(await t.attempt(address(i), user(i)));
  return verdicts;
}

const delays = (verdicts: SigninVerdict[]) => verdicts.map((v) => (v.kind === 'go' ? v.delayMs : `refuse ${v.retryAfterS}`));

describe('sign-in throttle', () => {
  it('lets a few failures through at once, then waits longer after each, then refuses the address with a Retry-After', async () => {
    const { t } = throttle();
    const verdicts = await attempts(t, 12, () => '203.0.113.7', (i) => `user-${i}`);
    expect(delays(verdicts)).toEqual([0, 0, 0, 250, 500, 1000, 2000, 4000, 5000, 5000, 'refuse 60', 'refuse 60']);
  });

  it('ends a refusal when its time has passed, and doubles it at the next failure', async () => {
    const { t, advance } = throttle();
    await attempts(t, DEFAULT_SIGNIN_THROTTLE.refuseAfter, () => '203.0.113.7', () => 'bob');
    advance(45_000);
    expect(await t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'refuse', retryAfterS: 15 });
    advance(15_000);
    expect(await t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'go', delayMs: 5000 });
    expect(await t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'refuse', retryAfterS: 120 });
    // Another address is not refused; the user name only waits.
    expect(await t.attempt('198.51.100.1', 'bob')).toEqual({ kind: 'go', delayMs: 5000 });
  });

  it('forgets failures an hour after the last one, and sweeps them away', async () => {
    const { t, advance, store } = throttle();
    await attempts(t, 12, () => '203.0.113.7', () => 'bob');
    await attempts(t, 3, (i) => `10.0.0.${i}`, (i) => `user-${i}`);
    advance(3_600_000);
    expect(await t.attempt('203.0.113.7', 'bob')).toEqual({ kind: 'go', delayMs: 0 });
    const sql = await store.sql();
    const rows = async () => (await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM signin_failures'))!.n;
    expect(await rows()).toBe(8);
    // The sweep keeps what failed within the hour: bob's and his address's fresh tallies.
    expect(await t.sweep()).toBe(6);
    expect(await rows()).toBe(2);
  });

  it('never refuses a user name: from many addresses it only waits, at most maxDelayMs', async () => {
    const { t } = throttle();
    const verdicts = await attempts(t, 50, (i) => `198.51.100.${i}`, () => 'alice');
    expect(verdicts.every((v) => v.kind === 'go')).toBe(true);
    expect(delays(verdicts).slice(0, 6)).toEqual([0, 0, 0, 250, 500, 1000]);
    expect(Math.max(...verdicts.map((v) => (v.kind === 'go' ? v.delayMs : Infinity)))).toBe(DEFAULT_SIGNIN_THROTTLE.maxDelayMs);
  });

  it('counts unknown user names like real ones (the wait tells no one who has an account)', async () => {
    const { t } = throttle();
    await attempts(t, 5, (i) => `198.51.100.${i}`, () => 'no-such-user');
    await attempts(t, 5, (i) => `192.0.2.${i}`, () => 'bob');
    expect(await t.attempt('203.0.113.1', 'no-such-user')).toEqual(await t.attempt('203.0.113.2', 'bob'));
  });

  it('after the right password: the user\'s wait ends, the address keeps its earlier failures', async () => {
    const { t } = throttle();
    await attempts(t, 5, () => '203.0.113.7', () => 'mallory-own-account');
    const right = await t.attempt('203.0.113.7', 'mallory-own-account');
    await t.succeeded('203.0.113.7', 'mallory-own-account');
    expect(right).toEqual({ kind: 'go', delayMs: 1000 });
    // Signing in to one's own account buys no more guesses from that address...
    expect(await t.attempt('203.0.113.7', 'victim')).toEqual({ kind: 'go', delayMs: 1000 });
    // ...and the user's own tally is gone.
    expect(await t.attempt('198.51.100.1', 'mallory-own-account')).toEqual({ kind: 'go', delayMs: 0 });
  });

  it('counts parallel attempts as they start, so that none slips in under the limit', async () => {
    const { t } = throttle({ refuseAfter: 3, freeFailures: 1 });
    const started = await Promise.all(Array.from({ length: 5 }, () => t.attempt('203.0.113.7', 'bob')));
    expect(delays(started).sort()).toEqual([0, 250, 500, 'refuse 60', 'refuse 60'].sort());
  });

  it('with delayMs 0 it never waits, and still refuses', async () => {
    const { t } = throttle({ delayMs: 0, refuseAfter: 4 });
    expect(delays(await attempts(t, 6, () => '203.0.113.7', () => 'bob'))).toEqual([0, 0, 0, 0, 'refuse 60', 'refuse 60']);
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

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends } from '../store-backends.ts';
import type { SigninTally } from '../store.ts';
import { type TestStore } from '../testing.ts';

const backends = storeBackends();

const HOUR = 3_600_000;
/** Counts every attempt and returns the tallies it saw. */
const seen = (byAddress: SigninTally | undefined, byUser: SigninTally | undefined) => ({ count: true, value: { address: byAddress?.failures ?? 0, user: byUser?.failures ?? 0 } });

describe.each(backends)('$name sign-outs and sign-in failures', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('keep sign-outs until they expire, for every store on the database', async () => {
    const now = t.clock.read();
    await t.store.signOuts.add('sid-b', now + 2_000);
    await t.store.signOuts.add('sid-a', now + 1_000);
    await t.store.signOuts.add('sid-a', now + 1_000); // signed out twice: once
    const other = await t.openAnother();
    expect(await other.signOuts.list(now)).toEqual([{ sid: 'sid-a', expires: now + 1_000 }, { sid: 'sid-b', expires: now + 2_000 }]);
    expect(await other.signOuts.list(now + 1_000)).toEqual([{ sid: 'sid-b', expires: now + 2_000 }]);
    expect(await t.store.signOuts.sweep(now + 1_000)).toBe(1);
    expect(await t.store.signOuts.list(now)).toEqual([{ sid: 'sid-b', expires: now + 2_000 }]);
  });

  it('count failures per address and per user name, forget them after forgetMs, and end them on success', async () => {
    const f = t.store.signinFailures;
    const now = t.clock.read();
    expect(await f.attempt('203.0.113.7', 'bob', now, HOUR, seen)).toEqual({ address: 0, user: 0 });
    expect(await f.attempt('203.0.113.7', 'alice', now + 1, HOUR, seen)).toEqual({ address: 1, user: 0 });
    // An attempt that does not count (a refusal) changes nothing.
    expect(await f.attempt('203.0.113.7', 'bob', now + 2, HOUR, (a, u) => ({ count: false, value: [a, u] })))
      .toEqual([{ failures: 2, last: now + 1 }, { failures: 1, last: now }]);
    expect(await f.attempt('198.51.100.1', 'bob', now + 3, HOUR, seen)).toEqual({ address: 0, user: 1 });
    // Success: the address gives one back, the user's tally ends.
    await f.succeeded('203.0.113.7', 'bob');
    expect(await f.attempt('203.0.113.7', 'bob', now + 4, HOUR, seen)).toEqual({ address: 1, user: 0 });
    // An hour after the last failure, a tally counts as none, and the sweep deletes it.
    expect(await f.attempt('203.0.113.7', 'bob', now + 4 + HOUR, HOUR, seen)).toEqual({ address: 0, user: 0 });
    expect(await f.sweep(now + 4)).toBe(2); // alice's and 198.51.100.1's
    expect(await f.sweep(now + 4)).toBe(0);
  });

  it('count parallel attempts through two stores one by one, so that none slips in under a limit', async () => {
    const other = await t.openAnother();
    const now = t.clock.read();
    const attempts = Array.from({ length: 20 }, (_, i) => (i % 2 ? other : t.store).signinFailures.attempt('203.0.113.7', `user-${i}`, now, HOUR, seen));
    const saw = (await Promise.all(attempts)).map((v) => v.address).sort((a, b) => a - b);
    expect(saw).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

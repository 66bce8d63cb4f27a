import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends } from '../store-backends.ts';
import { type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name session revocations', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('keep the latest time per user and instance, and let a user\'s * cover their instance ones', async () => {
    const r = t.store.revocations;
    await r.add({ user: 'u-1', instance: 'r1', before: 100 });
    await r.add({ user: 'u-1', instance: 'r1', before: 50 }); // older: no change
    await r.add({ user: 'u-1', instance: 'r2', before: 300 });
    await r.add({ user: 'u-2', instance: 'r1', before: 100 });
    expect(await r.list()).toEqual([
      { user: 'u-1', instance: 'r1', before: 100 },
      { user: 'u-1', instance: 'r2', before: 300 },
      { user: 'u-2', instance: 'r1', before: 100 },
    ]);
    await r.add({ user: 'u-1', instance: '*', before: 200 });
    // r1 (100) is covered by * (200); r2 (300) refuses more and stays.
    expect(await r.list()).toEqual([
      { user: 'u-1', instance: '*', before: 200 },
      { user: 'u-1', instance: 'r2', before: 300 },
      { user: 'u-2', instance: 'r1', before: 100 },
    ]);
  });

  it('survive a restart', async () => {
    await t.store.revocations.add({ user: 'u-1', instance: '*', before: 100 });
    const store = await t.reopen();
    expect(await store.revocations.list()).toEqual([{ user: 'u-1', instance: '*', before: 100 }]);
  });
});

describe.each(backends)('$name used links', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('claim a link once, across a restart and a second connection, until swept after it expires', async () => {
    expect(await t.store.usedLinks.claim('link-0001', 2_000)).toBe(true);
    expect(await t.store.usedLinks.claim('link-0001', 2_000)).toBe(false);
    const other = await t.openAnother(); // a second control process on the same file
    expect(await other.usedLinks.claim('link-0001', 2_000)).toBe(false);
    const store = await t.reopen();
    expect(await store.usedLinks.claim('link-0001', 2_000)).toBe(false);
    expect(await store.usedLinks.claim('link-0002', 5_000)).toBe(true);
    expect(await store.usedLinks.sweep(1_999)).toBe(0);
    expect(await store.usedLinks.sweep(2_000)).toBe(1);
    expect(await store.usedLinks.claim('link-0002', 5_000)).toBe(false);
  });

  it('let exactly one of many simultaneous claims of a link win', async () => {
    const stores = [t.store, await t.openAnother(), await t.openAnother()];
    const results = await Promise.all(stores.flatMap((s) => [s.usedLinks.claim('race-0001', 9_000), s.usedLinks.claim('race-0001', 9_000)]));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

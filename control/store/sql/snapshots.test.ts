import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

const SHA = 'ab'.repeat(32);

describe.each(backends)('$name snapshot index', ({ open }) => {
  let t: TestStore;
  let ada: User;
  let bob: User;
  beforeEach(async () => {
    t = await open();
    ada = await t.store.users.add({ name: 'ada', password: 'x' });
    bob = await t.store.users.add({ name: 'bob', password: 'x' });
  });
  afterEach(() => t.cleanup());

  const launch = (owner: string) => t.store.instances.create({ owner, config: testConfig(), spec: testSpec() });

  it('add, get, list by owner and by instance (newest first), and delete', async () => {
    const i1 = await launch(ada.id);
    const i2 = await launch(bob.id);
    const s1 = await t.store.snapshots.add({ instance: i1.id, owner: ada.id, sha256: SHA, size: 1024, path: 'blobs/s1.tar.zst' });
    expect(s1).toEqual({ id: expect.stringMatching(/^s-[a-z0-9]{8}$/), instance: i1.id, owner: ada.id, sha256: SHA, size: 1024, created: t.clock.now, path: 'blobs/s1.tar.zst' });
    t.clock.advance(1);
    const s2 = await t.store.snapshots.add({ id: 's-given', instance: i1.id, owner: ada.id, sha256: SHA, size: 0, path: 'blobs/s2' });
    const s3 = await t.store.snapshots.add({ instance: i2.id, owner: bob.id, sha256: SHA, size: 7, path: 'blobs/s3' });
    expect(await t.store.snapshots.get(s1.id)).toEqual(s1);
    expect((await t.store.snapshots.list({ owner: ada.id })).map((s) => s.id)).toEqual([s2.id, s1.id]);
    expect((await t.store.snapshots.list({ instance: i2.id })).map((s) => s.id)).toEqual([s3.id]);
    expect((await t.store.snapshots.list({ owner: bob.id, instance: i1.id }))).toEqual([]);
    expect(await t.store.snapshots.list()).toHaveLength(3);
    expect(await t.store.snapshots.delete(s1.id)).toBe(true);
    expect(await t.store.snapshots.delete(s1.id)).toBe(false);
    expect(await t.store.snapshots.get(s1.id)).toBeUndefined();
  });

  it('refuse a bad digest or size, and an unknown instance or owner', async () => {
    const i1 = await launch(ada.id);
    const base = { instance: i1.id, owner: ada.id, sha256: SHA, size: 1, path: 'p' };
    await expect(t.store.snapshots.add({ ...base, sha256: 'AB'.repeat(32) })).rejects.toMatchObject({ code: 'CTL_INVALID' });
    await expect(t.store.snapshots.add({ ...base, size: -1 })).rejects.toMatchObject({ code: 'CTL_INVALID' });
    await expect(t.store.snapshots.add({ ...base, instance: 'i-missing' })).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.snapshots.add({ ...base, owner: 'u-missing' })).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });
});

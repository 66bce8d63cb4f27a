import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name users', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('add a user and find it by id and by name', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'pw-ada', admin: true });
    expect(ada).toEqual({ id: expect.stringMatching(/^u-[a-z0-9]{8}$/), name: 'ada', admin: true, created: t.clock.now });
    expect(await t.store.users.get(ada.id)).toEqual(ada);
    expect(await t.store.users.getByName('ada')).toEqual(ada);
    expect(await t.store.users.getByName('bob')).toBeUndefined();
  });

  it('refuse a name that is taken, or not a name', async () => {
    await t.store.users.add({ name: 'ada', password: 'x' });
    await expect(t.store.users.add({ name: 'ada', password: 'y' })).rejects.toMatchObject({ code: 'CTL_USER_EXISTS' });
    await expect(t.store.users.add({ name: 'two words', password: 'y' })).rejects.toMatchObject({ code: 'CTL_INVALID' });
    await expect(t.store.users.add({ name: 'eve', password: '' })).rejects.toMatchObject({ code: 'CTL_INVALID' });
  });

  it('verify the right password, and refuse a wrong one or an unknown user', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'correct horse' });
    expect(await t.store.users.verifyPassword('ada', 'correct horse')).toEqual(ada);
    expect(await t.store.users.verifyPassword('ada', 'Correct horse')).toBeUndefined();
    expect(await t.store.users.verifyPassword('bob', 'correct horse')).toBeUndefined();
  });

  it('change a password: the new one verifies, the old one no longer does', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'old' });
    await t.store.users.setPassword(ada.id, 'new');
    expect(await t.store.users.verifyPassword('ada', 'new')).toEqual(ada);
    expect(await t.store.users.verifyPassword('ada', 'old')).toBeUndefined();
    await expect(t.store.users.setPassword('u-missing', 'x')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('set the admin flag and list users by name', async () => {
    const zed = await t.store.users.add({ name: 'zed', password: 'x' });
    await t.store.users.add({ name: 'ada', password: 'x' });
    await t.store.users.setAdmin(zed.id, true);
    const list = await t.store.users.list();
    expect(list.map((u) => [u.name, u.admin])).toEqual([['ada', false], ['zed', true]]);
    await expect(t.store.users.setAdmin('u-missing', true)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.users.setAdmin('u-missing', false)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('keeps the last admin: of two admins demoted at once, one stays', async () => {
    const a = await t.store.users.add({ name: 'a', password: 'x', admin: true });
    const b = await t.store.users.add({ name: 'b', password: 'x', admin: true });
    const results = await Promise.allSettled([t.store.users.setAdmin(a.id, false), t.store.users.setAdmin(b.id, false)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'CTL_LAST_ADMIN' });
    expect((await t.store.users.list()).filter((u) => u.admin)).toHaveLength(1);
    // Two controls at once, again and again: never no admin left.
    const other = await t.openAnother();
    for (let round = 0; round < 20; round++) {
      const [x, y] = (await t.store.users.list()).slice(0, 2);
      await Promise.all([t.store.users.setAdmin(x.id, true), t.store.users.setAdmin(y.id, true)]);
      await Promise.allSettled([t.store.users.setAdmin(x.id, false), other.users.setAdmin(y.id, false)]);
      expect((await t.store.users.list()).filter((u) => u.admin)).toHaveLength(1);
    }
    // Demoting a user who is no admin is no change, not a refusal.
    const c = await t.store.users.add({ name: 'c', password: 'x' });
    await t.store.users.setAdmin(c.id, false);
  });

  it('remove a user: unknown from then on, tokens revoked, name free, instances kept; never the last admin', async () => {
    const root = await t.store.users.add({ name: 'root', password: 'x', admin: true });
    const ada = await t.store.users.add({ name: 'ada', password: 'pw-ada', admin: true });
    const { token } = await t.store.apiTokens.create(ada.id, 'laptop');
    const instance = await t.store.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });
    t.clock.advance(1000);
    await t.store.users.remove(ada.id);
    expect(await t.store.users.get(ada.id)).toBeUndefined();
    expect(await t.store.users.getByName('ada')).toBeUndefined();
    expect(await t.store.users.verifyPassword('ada', 'pw-ada')).toBeUndefined();
    expect((await t.store.users.list()).map((u) => u.name)).toEqual(['root']);
    expect(await t.store.apiTokens.verify(token)).toBeUndefined();
    expect((await t.store.apiTokens.list(ada.id))[0].revoked).toBe(t.clock.now);
    await expect(t.store.apiTokens.create(ada.id, 'again')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.users.setPassword(ada.id, 'y')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.users.setAdmin(ada.id, true)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    await expect(t.store.users.remove(ada.id)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    expect((await t.store.instances.get(instance.id))?.owner).toBe(ada.id);
    // The name is free: a new ada is another user.
    const again = await t.store.users.add({ name: 'ada', password: 'pw-new' });
    expect(again.id).not.toBe(ada.id);
    // A removed admin no longer counts: root is the last one now.
    await expect(t.store.users.remove(root.id)).rejects.toMatchObject({ code: 'CTL_LAST_ADMIN' });
    await expect(t.store.users.setAdmin(root.id, false)).rejects.toMatchObject({ code: 'CTL_LAST_ADMIN' });
    expect(await t.store.users.get(root.id)).toMatchObject({ admin: true });
  });
});

describe.each(backends)('$name API tokens', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('create a token whose clear value verifies to its user', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    const { apiToken, token } = await t.store.apiTokens.create(ada.id, 'laptop');
    expect(token).toMatch(new RegExp(`^wharf_${apiToken.id}_[a-z0-9]{40}$`));
    expect(apiToken).toEqual({ id: apiToken.id, user: ada.id, name: 'laptop', created: t.clock.now, lastUsed: null, revoked: null });
    expect(await t.store.apiTokens.verify(token)).toEqual(ada);
  });

  it('refuse a wrong secret, a malformed token and an unknown id', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    const { token } = await t.store.apiTokens.create(ada.id, 'laptop');
    const last = token.at(-1)!;
    expect(await t.store.apiTokens.verify(token.slice(0, -1) + (last === 'a' ? 'b' : 'a'))).toBeUndefined();
    expect(await t.store.apiTokens.verify('wharf_nope')).toBeUndefined();
    expect(await t.store.apiTokens.verify(`wharf_000000000000_${'a'.repeat(40)}`)).toBeUndefined();
    await expect(t.store.apiTokens.create('u-missing', 'x')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('refuse a revoked token; revoking twice reports nothing to do', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    const { apiToken, token } = await t.store.apiTokens.create(ada.id, 'laptop');
    const other = await t.store.apiTokens.create(ada.id, 'ci');
    t.clock.advance(1000);
    expect(await t.store.apiTokens.revoke(apiToken.id)).toBe(true);
    expect(await t.store.apiTokens.revoke(apiToken.id)).toBe(false);
    expect(await t.store.apiTokens.verify(token)).toBeUndefined();
    expect(await t.store.apiTokens.verify(other.token)).toEqual(ada);
    expect((await t.store.apiTokens.get(apiToken.id))?.revoked).toBe(t.clock.now);
  });

  it('record when a token was last used, at most once a minute', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    const { apiToken, token } = await t.store.apiTokens.create(ada.id, 'laptop');
    const first = t.clock.advance(5_000);
    await t.store.apiTokens.verify(token);
    t.clock.advance(30_000);
    await t.store.apiTokens.verify(token);
    expect((await t.store.apiTokens.get(apiToken.id))?.lastUsed).toBe(first);
    const later = t.clock.advance(30_000);
    await t.store.apiTokens.verify(token);
    expect((await t.store.apiTokens.get(apiToken.id))?.lastUsed).toBe(later);
  });

  it('list a user\'s tokens, oldest first, and no one else\'s', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    const bob = await t.store.users.add({ name: 'bob', password: 'x' });
    await t.store.apiTokens.create(ada.id, 'one');
    t.clock.advance(1);
    await t.store.apiTokens.create(ada.id, 'two');
    await t.store.apiTokens.create(bob.id, 'bobs');
    expect((await t.store.apiTokens.list(ada.id)).map((k) => k.name)).toEqual(['one', 'two']);
    expect((await t.store.apiTokens.list(bob.id)).map((k) => k.name)).toEqual(['bobs']);
  });
});

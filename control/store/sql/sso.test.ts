import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SsoSession, User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import type { TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name single sign-on', ({ open }) => {
  let t: TestStore;
  let ada: User;
  beforeEach(async () => {
    t = await open();
    ada = await t.store.users.add({ name: 'ada', password: 'ada-password' });
  });
  afterEach(() => t.cleanup());

  const session = (over: Partial<SsoSession> = {}): SsoSession => ({
    sid: 'sid-1', user: ada.id, refreshToken: 'sealed-refresh', idToken: 'id.token.jwt', refreshAt: t.clock.now + 5_000, expires: t.clock.now + 3_600_000, ...over,
  });

  it('links an account by issuer and subject, not by name', async () => {
    expect(await t.store.sso.user('https://idp.example', 'sub-1')).toBeUndefined();
    expect(await t.store.sso.link('https://idp.example', 'sub-1', ada.id)).toBe(ada.id);
    expect(await t.store.sso.user('https://idp.example', 'sub-1')).toBe(ada.id);
    // A second link of the same account (a sign-in racing the first) keeps the first.
    const bob = await t.store.users.add({ name: 'bob', password: 'bob-password' });
    expect(await t.store.sso.link('https://idp.example', 'sub-1', bob.id)).toBe(ada.id);
    expect(await t.store.sso.subjectOf('https://idp.example', ada.id)).toBe('sub-1');
    expect(await t.store.sso.user('https://other.example', 'sub-1')).toBeUndefined();
    expect(await t.store.sso.subjectOf('https://other.example', ada.id)).toBeUndefined();
    expect(await (await t.openAnother()).sso.user('https://idp.example', 'sub-1')).toBe(ada.id);
  });

  it('keeps a session, replaces it, ends it and sweeps it after it expires', async () => {
    await t.store.sso.saveSession(session());
    expect(await t.store.sso.session('sid-1')).toEqual(session());
    await t.store.sso.saveSession(session({ refreshToken: null, refreshAt: t.clock.now + 9_000 }));
    expect(await t.store.sso.session('sid-1')).toMatchObject({ refreshToken: null, refreshAt: t.clock.now + 9_000 });
    await t.store.sso.saveSession(session({ sid: 'sid-2', expires: t.clock.now + 10 }));
    expect(await t.store.sso.sweep(t.clock.now + 10)).toBe(1);
    expect(await t.store.sso.session('sid-2')).toBeUndefined();
    await t.store.sso.endSession('sid-1');
    expect(await t.store.sso.session('sid-1')).toBeUndefined();
  });

  it('gives a due refresh to one caller of every store on the database, and again once its lease ran out', async () => {
    await t.store.sso.saveSession(session());
    const now = t.clock.now;
    expect(await t.store.sso.claimRefresh('sid-1', now, 30_000)).toBe(false); // not due yet
    const other = await t.openAnother();
    const due = now + 5_000;
    const claims = await Promise.all([t.store.sso.claimRefresh('sid-1', due, 30_000), other.sso.claimRefresh('sid-1', due, 30_000)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await t.store.sso.claimRefresh('sid-1', due + 29_999, 30_000)).toBe(false);
    expect(await other.sso.claimRefresh('sid-1', due + 30_000, 30_000)).toBe(true);
    // A refreshed session (saved anew) is free to claim at its next due time.
    await t.store.sso.saveSession(session({ refreshAt: due + 60_000 }));
    expect(await t.store.sso.claimRefresh('sid-1', due + 60_000, 30_000)).toBe(true);
  });
});

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE } from '../../protocol/token.ts';
import { rotateIfDue } from '../keys/rotation.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { TempStore } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

describe('signing key rotation (in process)', () => {
  let t: TempStore;
  let keys: SigningKeys;
  let adminToken: string;
  let bobToken: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture();
    ({ t, keys } = f);
    adminToken = (await f.user('admin', { admin: true })).token;
    bobToken = (await f.user('bob')).token;
  });
  afterEach(() => f.close());

  const call = (method: 'GET' | 'POST', url: string, token?: string) => f.call(method, url, token);
  const jwks = async () => (await call('GET', '/.well-known/jwks.json')).json() as JSONWebKeySet;

  it('rotates on POST /api/v1/keys/rotate: both kids published, an older token still verifies', async () => {
    const oldKid = keys.currentKid;
    const nowS = Math.floor(t.clock.now / 1000);
    const before = await keys.sign({ sub: 'i-1', scope: ['app'], exp: nowS + 3600 }, t.clock.now);

    t.clock.advance(1000);
    const res = await call('POST', '/api/v1/keys/rotate', adminToken);
    expect(res.statusCode).toBe(201);
    const newKid = (res.json() as { kid: string }).kid;
    expect(newKid).not.toBe(oldKid);
    expect(keys.currentKid).toBe(newKid);

    const set = await jwks();
    expect(set.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    const verify = (token: string) => jwtVerify(token, createLocalJWKSet(set), { audience: TOKEN_AUDIENCE, currentDate: new Date(t.clock.now) });
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    expect((await verify(before)).payload.sub).toBe('i-1');
    const after = await keys.sign({ sub: 'i-2', scope: ['app'], exp: nowS + 3600 }, t.clock.now);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect((await verify(after)).payload.sub).toBe('i-2');

    const listed = (await call('GET', '/api/v1/keys', adminToken)).json() as { current: string; keys: { kid: string; retired: string | null }[] };
    expect(listed.current).toBe(newKid);
    expect(listed.keys.find((k) => k.kid === oldKid)?.retired).not.toBeNull();

    // Past the old key's last possible token (max lifetime + skew), prune drops it.
    t.clock.advance(keys.maxTokenLifetimeS * 1000 + 60_001);
    await keys.prune(t.clock.now);
    expect((await jwks()).keys.map((k) => k.kid)).toEqual([newKid]);
  });

  it('refuses a non-admin (403) and an anonymous caller (401)', async () => {
    const kid = keys.currentKid;
    const refused = await call('POST', '/api/v1/keys/rotate', bobToken);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('CTL_FORBIDDEN');
    expect((await call('GET', '/api/v1/keys', bobToken)).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/keys/rotate')).statusCode).toBe(401);
    expect(keys.currentKid).toBe(kid);
  });

  it('rotates automatically only once the current key is older than the rotation age', async () => {
    const day = 86_400_000;
    const first = keys.currentKid;
    t.clock.advance(29 * day);
    expect(await rotateIfDue(keys, t.clock.now, 30 * day)).toBeUndefined();
    expect(keys.currentKid).toBe(first);
    t.clock.advance(day);
    const second = await rotateIfDue(keys, t.clock.now, 30 * day);
    expect(second).toBeDefined();
    expect(keys.currentKid).toBe(second);
    expect(keys.jwks(t.clock.now).keys.map((k) => k.kid)).toContain(first);
    // An hour later: not due again, and the old key is still needed.
    t.clock.advance(3_600_000);
    expect(await rotateIfDue(keys, t.clock.now, 30 * day)).toBeUndefined();
    expect(keys.jwks(t.clock.now).keys).toHaveLength(2);
    // A day and a minute later the old key's tokens have all expired: the same check prunes it.
    t.clock.advance(day);
    await rotateIfDue(keys, t.clock.now, 30 * day);
    expect(keys.jwks(t.clock.now).keys.map((k) => k.kid)).toEqual([second]);
  });
});

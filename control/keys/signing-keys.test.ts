import { generateKeyPairSync, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthFailure, TokenVerifier } from '../../gateway/auth/token-verifier.ts';
import { storeBackends } from '../store/store-backends.ts';
import { type TestStore } from '../store/testing.ts';
import { SigningKeys } from './signing-keys.ts';

const HOUR = 3_600_000;

/** The gateway's own verifier, fed the JWKS control publishes (as `--jwks FILE` would be). */
function verifierFor(jwks: JSONWebKeySet): TokenVerifier {
  return new TokenVerifier({ getKey: createLocalJWKSet(structuredClone(jwks)), close() {} });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthFailure);
    return (err as AuthFailure).code;
  }
  throw new Error('expected the token to be refused');
}

/** A key file as Wharf wrote them before keys lived in the store. */
function writeKeyFile(dir: string, created: number, retired: number | null): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { crv, kty, x } = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  const body = {
    kid, alg: 'EdDSA', crv: 'Ed25519', created: new Date(created).toISOString(), retired: retired === null ? null : new Date(retired).toISOString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  };
  writeFileSync(join(dir, `${kid}.json`), JSON.stringify(body), { mode: 0o600 });
  return kid;
}

describe.each(storeBackends())('SigningKeys on $name', ({ open }) => {
  let t: TestStore;
  // The gateway's verifier checks `exp` against the real clock, so the injected clock starts
  // at the real time and tokens expire in the real future.
  let t0: number;
  const expIn = (now: number, seconds: number) => Math.floor(now / 1000) + seconds;

  beforeEach(async () => {
    t = await open();
    t0 = Date.now();
  });
  afterEach(() => t.cleanup());

  it('creates a key on first use and keeps it in the store', async () => {
    const keys = await SigningKeys.open(t.store.signingKeys, t0);
    expect(await t.store.signingKeys.list()).toEqual([
      { kid: keys.currentKid, created: t0, retired: null, privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----/) },
    ]);
  });

  it('publishes public keys only, with kid, alg EdDSA and use sig', async () => {
    const keys = await SigningKeys.open(t.store.signingKeys, t0);
    const { keys: published } = keys.jwks(t0);
    expect(published).toHaveLength(1);
    expect(published[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: keys.currentKid, alg: 'EdDSA', use: 'sig' });
    expect(published[0]).not.toHaveProperty('d');
  });

  it('signs tokens that the gateway verifies against the published JWKS', async () => {
    const keys = await SigningKeys.open(t.store.signingKeys, t0);
    const token = await keys.sign({ sub: 'alice', scope: ['r1'], exp: expIn(t0, 300) }, t0);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: keys.currentKid });
    const claims = await verifierFor(keys.jwks(t0)).verify(token, false);
    expect(claims).toMatchObject({ sub: 'alice', aud: 'wharf-gateway', scope: ['r1'], exp: expIn(t0, 300), iat: Math.floor(t0 / 1000) });
  });

  it('keeps old tokens valid after rotation until they expire, then drops the old key', async () => {
    const keys = await SigningKeys.open(t.store.signingKeys, t0);
    const oldKid = keys.currentKid;
    const oldToken = await keys.sign({ sub: 'alice', scope: ['r1'], exp: expIn(t0, 600) }, t0);

    const t1 = t0 + 1_000;
    const newKid = await keys.rotate(t1);
    expect(newKid).not.toBe(oldKid);
    expect(keys.currentKid).toBe(newKid);
    const newToken = await keys.sign({ sub: 'bob', scope: ['r2'], exp: expIn(t1, 600) }, t1);
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);

    // Both keys are published: the old token and the new one verify.
    const both = keys.jwks(t1);
    expect(both.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    expect((await verifierFor(both).verify(oldToken, false)).sub).toBe('alice');
    expect((await verifierFor(both).verify(newToken, false)).sub).toBe('bob');

    // Still published until every token the old key could have signed has expired: the
    // rotation time plus the longest token lifetime (24 h) plus the clock-skew allowance.
    const [oldInfo] = keys.list().filter((k) => k.kid === oldKid);
    expect(oldInfo.retired).toBe(t1);
    expect(oldInfo.publishedUntil).toBe(t1 + 24 * HOUR + 60_000);
    expect(keys.jwks(oldInfo.publishedUntil! - 1).keys.map((k) => k.kid)).toContain(oldKid);

    const later = oldInfo.publishedUntil!;
    const after = keys.jwks(later);
    expect(after.keys.map((k) => k.kid)).toEqual([newKid]);
    expect(await refusal(verifierFor(after).verify(oldToken, false))).toBe('GW_AUTH_INVALID');
    expect((await verifierFor(after).verify(newToken, false)).sub).toBe('bob');

    // prune removes it from the store as well.
    expect(await keys.prune(later)).toEqual([oldKid]);
    expect((await t.store.signingKeys.list()).map((k) => k.kid)).toEqual([newKid]);
  });

  it('refuses to sign a token that would outlive its key in the JWKS', async () => {
    const keys = await SigningKeys.open(t.store.signingKeys, t0, { maxTokenLifetimeS: 3_600 });
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 3_601) }, t0)).rejects.toThrow(RangeError);
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 0) }, t0)).rejects.toThrow(RangeError);
    await expect(keys.sign({ sub: 'a', scope: [], exp: expIn(t0, 60) }, t0)).rejects.toThrow(TypeError);
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 3_600) }, t0)).resolves.toBeTypeOf('string');
  });

  it('keeps keys, the current one and retirements across a restart', async () => {
    const first = await SigningKeys.open(t.store.signingKeys, t0);
    const oldKid = first.currentKid;
    const oldToken = await first.sign({ sub: 'alice', scope: ['*'], exp: expIn(t0, 300) }, t0);
    const newKid = await first.rotate(t0 + 1_000);

    const store = await t.reopen();
    const again = await SigningKeys.open(store.signingKeys, t0 + 2_000);
    expect(again.problems).toEqual([]);
    expect(again.currentKid).toBe(newKid);
    expect(again.list()).toEqual(first.list());
    expect(again.jwks(t0 + 2_000)).toEqual(first.jwks(t0 + 2_000));
    expect((await verifierFor(again.jwks(t0 + 2_000)).verify(oldToken, false)).sub).toBe('alice');
    const token = await again.sign({ sub: 'bob', scope: ['*'], exp: expIn(t0, 300) }, t0 + 2_000);
    expect(decodeProtectedHeader(token).kid).toBe(newKid);
    expect(again.jwks(t0 + 2_000).keys.map((k) => k.kid)).toContain(oldKid);
    // Opened after the old key's tokens have all expired: it goes.
    const later = await SigningKeys.open(store.signingKeys, t0 + 1_000 + 24 * HOUR + 60_000);
    expect(later.list().map((k) => k.kid)).toEqual([newKid]);
    expect((await store.signingKeys.list()).map((k) => k.kid)).toEqual([newKid]);
  });

  it('shares keys between controls: one signs, the other publishes; a rotation happens once', async () => {
    const other = await t.openAnother();
    const [a, b] = await Promise.all([SigningKeys.open(t.store.signingKeys, t0), SigningKeys.open(other.signingKeys, t0)]);
    expect(b.currentKid).toBe(a.currentKid);
    const token = await a.sign({ sub: 'alice', scope: ['*'], exp: expIn(t0, 300) }, t0);
    expect((await verifierFor(b.jwks(t0)).verify(token, false)).sub).toBe('alice');

    // Both find the key due at the same moment: one new key, which both end up signing with.
    const [ka, kb] = await Promise.all([a.rotate(t0 + 1_000), b.rotate(t0 + 1_000)]);
    expect(ka).toBe(kb);
    expect((await t.store.signingKeys.list()).filter((k) => k.retired === null).map((k) => k.kid)).toEqual([ka]);
    expect(await t.store.signingKeys.list()).toHaveLength(2);

    // A rotation on one is seen by the other at its next refresh; until then the other signs
    // with the retired key, which is still published.
    const kc = await a.rotate(t0 + 2_000);
    const stale = await b.sign({ sub: 'bob', scope: ['*'], exp: expIn(t0, 300) }, t0 + 2_000);
    expect(decodeProtectedHeader(stale).kid).toBe(ka);
    expect((await verifierFor(a.jwks(t0 + 2_000)).verify(stale, false)).sub).toBe('bob');
    await b.refresh();
    expect(b.currentKid).toBe(kc);
  });

  it('imports an older install\'s key files once, the newest unretired key current, and reports a broken file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'wharf-keys-')), 'keys');
    mkdirSync(dir);
    try {
      const retired = writeKeyFile(dir, t0 - 3_000, t0 - 2_000);
      const cutShort = writeKeyFile(dir, t0 - 2_000, null); // a rotation cut short: its successor exists
      const current = writeKeyFile(dir, t0 - 1_000, null);
      writeFileSync(join(dir, 'junk.json'), '{ not json');
      const keys = await SigningKeys.open(t.store.signingKeys, t0, { importFrom: dir });
      expect(keys.currentKid).toBe(current);
      expect(keys.list().map((k) => [k.kid, k.retired])).toEqual([[retired, t0 - 2_000], [cutShort, t0 - 1_000], [current, null]]);
      expect(keys.problems.map((p) => p.file)).toEqual([join(dir, 'junk.json')]);
      // Once the store holds keys, the files are not read again.
      writeKeyFile(dir, t0, null);
      const again = await SigningKeys.open(t.store.signingKeys, t0, { importFrom: dir });
      expect(again.currentKid).toBe(current);
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });
});

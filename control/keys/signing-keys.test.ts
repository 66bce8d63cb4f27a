import { mkdtempSync, readdirSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthFailure, TokenVerifier } from '../../gateway/auth/token-verifier.ts';
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

describe('SigningKeys', () => {
  let dir: string;
  // The gateway's verifier checks `exp` against the real clock, so the injected clock starts
  // at the real time and tokens expire in the real future.
  let t0: number;
  const expIn = (now: number, seconds: number) => Math.floor(now / 1000) + seconds;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'wharf-keys-')), 'keys');
    t0 = Date.now();
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('creates a key on first use, in a 0700 folder, as a 0600 file named by kid', () => {
    const keys = SigningKeys.open(dir, t0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toEqual([`${keys.currentKid}.json`]);
    expect(statSync(join(dir, files[0])).mode & 0o777).toBe(0o600);
    const body = JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
    expect(body).toMatchObject({ kid: keys.currentKid, alg: 'EdDSA', crv: 'Ed25519', created: new Date(t0).toISOString(), retired: null });
    expect(body.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('publishes public keys only, with kid, alg EdDSA and use sig', () => {
    const keys = SigningKeys.open(dir, t0);
    const { keys: published } = keys.jwks(t0);
    expect(published).toHaveLength(1);
    expect(published[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: keys.currentKid, alg: 'EdDSA', use: 'sig' });
    expect(published[0]).not.toHaveProperty('d');
  });

  it('signs tokens that the gateway verifies against the published JWKS', async () => {
    const keys = SigningKeys.open(dir, t0);
    const token = await keys.sign({ sub: 'alice', scope: ['r1'], exp: expIn(t0, 300) }, t0);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: keys.currentKid });
    const claims = await verifierFor(keys.jwks(t0)).verify(token, false);
    expect(claims).toMatchObject({ sub: 'alice', aud: 'wharf-gateway', scope: ['r1'], exp: expIn(t0, 300), iat: Math.floor(t0 / 1000) });
  });

  it('keeps old tokens valid after rotation until they expire, then drops the old key', async () => {
    const keys = SigningKeys.open(dir, t0);
    const oldKid = keys.currentKid;
    const oldToken = await keys.sign({ sub: 'alice', scope: ['r1'], exp: expIn(t0, 600) }, t0);

    const t1 = t0 + 1_000;
    const newKid = keys.rotate(t1);
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

    // prune removes the file as well.
    expect(keys.prune(later)).toEqual([oldKid]);
    expect(readdirSync(dir)).toEqual([`${newKid}.json`]);
  });

  it('refuses to sign a token that would outlive its key in the JWKS', async () => {
    const keys = SigningKeys.open(dir, t0, { maxTokenLifetimeS: 3_600 });
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 3_601) }, t0)).rejects.toThrow(RangeError);
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 0) }, t0)).rejects.toThrow(RangeError);
    await expect(keys.sign({ sub: 'a', scope: [], exp: expIn(t0, 60) }, t0)).rejects.toThrow(TypeError);
    await expect(keys.sign({ sub: 'a', scope: ['r1'], exp: expIn(t0, 3_600) }, t0)).resolves.toBeTypeOf('string');
  });

  it('keeps keys, the current one and retirements across reopening the folder', async () => {
    const first = SigningKeys.open(dir, t0);
    const oldKid = first.currentKid;
    const oldToken = await first.sign({ sub: 'alice', scope: ['*'], exp: expIn(t0, 300) }, t0);
    const newKid = first.rotate(t0 + 1_000);

    const again = SigningKeys.open(dir, t0 + 2_000);
    expect(again.problems).toEqual([]);
    expect(again.currentKid).toBe(newKid);
    expect(again.list()).toEqual(first.list());
    expect(again.jwks(t0 + 2_000)).toEqual(first.jwks(t0 + 2_000));
    expect((await verifierFor(again.jwks(t0 + 2_000)).verify(oldToken, false)).sub).toBe('alice');
    const token = await again.sign({ sub: 'bob', scope: ['*'], exp: expIn(t0, 300) }, t0 + 2_000);
    expect(decodeProtectedHeader(token).kid).toBe(newKid);
    expect(again.jwks(t0 + 1_000 + 24 * HOUR + 60_000).keys.map((k) => k.kid)).toEqual([newKid]);
    expect(again.jwks(t0 + 2_000).keys.map((k) => k.kid)).toContain(oldKid);
    // Reopened after the old key's tokens have all expired: its file goes.
    const later = SigningKeys.open(dir, t0 + 1_000 + 24 * HOUR + 60_000);
    expect(later.list().map((k) => k.kid)).toEqual([newKid]);
    expect(readdirSync(dir)).toEqual([`${newKid}.json`]);
  });

  it('settles a rotation cut short: the newest unretired key is current, the older one retired', () => {
    const keys = SigningKeys.open(dir, t0);
    const oldKid = keys.currentKid;
    const newKid = keys.rotate(t0 + 5_000);
    // Undo the retirement on disk, as if control died between writing the new key and the old.
    const oldFile = join(dir, `${oldKid}.json`);
    writeFileSync(oldFile, JSON.stringify({ ...JSON.parse(readFileSync(oldFile, 'utf8')), retired: null }));
    const again = SigningKeys.open(dir, t0 + 6_000);
    expect(again.currentKid).toBe(newKid);
    expect(again.list().find((k) => k.kid === oldKid)?.retired).toBe(t0 + 5_000);
  });

  it('reports a broken key file and keeps working with the others', () => {
    const keys = SigningKeys.open(dir, t0);
    writeFileSync(join(dir, 'junk.json'), '{ not json', { mode: 0o644 });
    const again = SigningKeys.open(dir, t0);
    expect(again.currentKid).toBe(keys.currentKid);
    expect(again.problems.map((p) => p.file)).toEqual([join(dir, 'junk.json')]);
    // Any file in the key folder is made private, even one that is not a key.
    expect(statSync(join(dir, 'junk.json')).mode & 0o777).toBe(0o600);
  });
});

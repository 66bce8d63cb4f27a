import { createLocalJWKSet, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionRevocations } from '../../gateway/auth/session-revocations.ts';
import { inScope, TokenVerifier } from '../../gateway/auth/token-verifier.ts';
import { ValidationError } from '../../protocol/validate.ts';
import { API_TOKEN_MAX_LIFETIME_S, appBaseUrl, GatewayTokens, LINK_LIFETIME_S } from './gateway-tokens.ts';
import { SigningKeys } from './signing-keys.ts';
import { tempStore, type TempStore } from '../store/testing.ts';
import { fieldOf } from '../../test/support/validation.ts';

const hosts = { appsDomain: 'apps.localhost', publicUrl: 'https://localhost:8443/' };


async function asyncFieldOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

describe('appBaseUrl', () => {
  it('puts the instance on its own host under the apps domain, with the public port', () => {
    expect(appBaseUrl('r1', hosts)).toBe('https://r1.apps.localhost:8443/');
    expect(appBaseUrl('r1', { appsDomain: 'apps.example.com', publicUrl: 'https://wharf.example.com/' })).toBe('https://r1.apps.example.com/');
    expect(appBaseUrl('r1', { appsDomain: 'apps.example.com', publicUrl: 'https://wharf.example.com:443/x' })).toBe('https://r1.apps.example.com/');
  });

  it('refuses what is not a host label', () => {
    expect(fieldOf(() => appBaseUrl('R1', hosts))).toBe('instance');
    expect(fieldOf(() => appBaseUrl('a.b', hosts))).toBe('instance');
    expect(fieldOf(() => appBaseUrl('r1', { ...hosts, publicUrl: 'nope' }))).toBe('publicUrl');
  });
});

describe('GatewayTokens', () => {
  let keys: SigningKeys;
  let tokens: GatewayTokens;
  let now: number;
  let t: TempStore;
  const verifier = () => new TokenVerifier({ getKey: createLocalJWKSet(keys.jwks(now)), close() {} });

  beforeEach(async () => {
    now = Date.now(); // the gateway's verifier reads the real clock for `exp`
    t = tempStore();
    keys = await SigningKeys.open(t.store.signingKeys, now);
    tokens = new GatewayTokens(keys, hosts);
  });
  afterEach(() => t.cleanup());

  it('issues API tokens scoped to instances, for the lifetime asked', async () => {
    const issued = await tokens.apiToken({ sub: 'alice', scope: ['r1', 'r2', 'r1'], lifetimeS: 600 }, now);
    expect(issued.scope).toEqual(['r1', 'r2']);
    expect(issued.expiresAt).toBe((Math.floor(now / 1000) + 600) * 1000);
    const claims = await verifier().verify(issued.token);
    expect(claims).toMatchObject({ sub: 'alice', aud: 'wharf-gateway', scope: ['r1', 'r2'] });
    expect(claims.jti).toBeUndefined();
    expect(inScope(claims, 'r2')).toBe(true);
    expect(inScope(claims, 'r3')).toBe(false);
  });

  it('defaults API tokens to an hour and refuses more than 24 h', async () => {
    const issued = await tokens.apiToken({ sub: 'alice', scope: ['*'] }, now);
    const claims = decodeJwt(issued.token);
    expect(claims.exp! - claims.iat!).toBe(3_600);
    await expect(tokens.apiToken({ sub: 'alice', scope: ['*'], lifetimeS: API_TOKEN_MAX_LIFETIME_S }, now)).resolves.toBeTruthy();
    expect(await asyncFieldOf(tokens.apiToken({ sub: 'alice', scope: ['*'], lifetimeS: API_TOKEN_MAX_LIFETIME_S + 1 }, now))).toBe('lifetimeS');
    expect(await asyncFieldOf(tokens.apiToken({ sub: 'alice', scope: ['*'], lifetimeS: 0 }, now))).toBe('lifetimeS');
    expect(await asyncFieldOf(tokens.apiToken({ sub: 'alice', scope: [] }, now))).toBe('scope');
    expect(await asyncFieldOf(tokens.apiToken({ sub: 'alice', scope: ['r1', 'Bad'] }, now))).toBe('scope[1]');
    expect(await asyncFieldOf(tokens.apiToken({ sub: '', scope: ['r1'] }, now))).toBe('sub');
  });

  it('issues one-time browser links: jti, 60 s, scope of the one instance, on the app host', async () => {
    const link = await tokens.browserLink({ sub: 'alice', instance: 'r1' }, now);
    const url = new URL(link.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://r1.apps.localhost:8443/');
    expect(url.searchParams.get('wharf_token')).toBe(link.token);
    expect([...url.searchParams.keys()]).toEqual(['wharf_token']);

    const claims = await verifier().verify(link.token, false);
    expect(claims).toMatchObject({ sub: 'alice', scope: ['r1'], jti: link.jti });
    const { iat, exp } = decodeJwt(link.token);
    expect(exp! - iat!).toBe(LINK_LIFETIME_S);
    expect(link.expiresAt).toBe(exp! * 1000);

    const other = await tokens.browserLink({ sub: 'alice', instance: 'r1' }, now);
    expect(other.jti).not.toBe(link.jti);
    expect(link.jti.length).toBeGreaterThanOrEqual(16);
  });

  it('dates a user\'s tokens no earlier than their last revocation, so the gateway tells new ones from old in the same second', async () => {
    const second = Math.floor(now / 1000) * 1000;
    const issuedBefore = await tokens.browserLink({ sub: 'alice', instance: 'r1' }, second + 100);
    const revokedAt = second + 400; // the password change, in the same second
    const revocations = new SessionRevocations();
    revocations.replace([{ user: 'alice', instance: '*', before: revokedAt }]);
    const dated = new GatewayTokens(keys, hosts, (sub) => (sub === 'alice' ? revokedAt : undefined));
    const link = await dated.browserLink({ sub: 'alice', instance: 'r1' }, second + 700);
    const api = await dated.apiToken({ sub: 'alice', scope: ['r1'], lifetimeS: 60 }, second + 700);
    const bobs = await dated.browserLink({ sub: 'bob', instance: 'r1' }, second + 700);
    expect(revocations.refuses('alice', 'r1', decodeJwt(issuedBefore.token).iat)).toBe(true);
    expect(revocations.refuses('alice', 'r1', decodeJwt(link.token).iat)).toBe(false);
    expect(revocations.refuses('alice', 'r1', decodeJwt(api.token).iat)).toBe(false);
    expect(decodeJwt(link.token).iat).toBe(second / 1000 + 1);
    expect(decodeJwt(bobs.token).iat).toBe(second / 1000); // other users' tokens are not moved
    // Once the clock is past the revocation's second, tokens carry the plain time.
    expect(decodeJwt((await dated.browserLink({ sub: 'alice', instance: 'r1' }, second + 5_000)).token).iat).toBe(second / 1000 + 5);
  });

  it('signs with the current key after a rotation', async () => {
    const before = await tokens.browserLink({ sub: 'alice', instance: 'r1' }, now);
    const kid = await keys.rotate(now + 1);
    const after = await tokens.browserLink({ sub: 'alice', instance: 'r1' }, now + 1);
    expect(decodeProtectedHeader(after.token).kid).toBe(kid);
    expect(decodeProtectedHeader(before.token).kid).not.toBe(kid);
    await expect(verifier().verify(before.token, false)).resolves.toBeTruthy();
  });
});

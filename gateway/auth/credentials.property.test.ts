import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { importJWK, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE, TOKEN_AUDIENCE } from '../../protocol/token.ts';
import { HostMatcher } from '../routing/route-table.ts';
import { bearerToken, readCookie, takeLinkToken, withoutWharfCookies } from './credentials.ts';
import { SessionCookies } from './session-cookie.ts';
import { AuthFailure, TokenVerifier } from './token-verifier.ts';

/*
 * Hostile input (issue 19): what every request brings before it is authenticated: the Cookie,
 * Authorization and Host headers (HTTP/2's :authority ends up as Host), the link token in the
 * query, app session cookies and JWTs. Random and mutated values get an answer (a value, or
 * none, or AuthFailure), never another exception; good values round-trip.
 */

const header = fc.string({ unit: 'binary', maxLength: 300 });
const cookieName = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const cookieValue = fc.stringMatching(/^[A-Za-z0-9._~-]{0,40}$/);

describe('request credentials under hostile input', () => {
  it('reads cookies, bearer tokens, link tokens and host names from anything without throwing', () => {
    fc.assert(fc.property(header, cookieName, (h, name) => {
      readCookie(h, name);
      withoutWharfCookies(h);
      bearerToken(h);
      HostMatcher.hostname(h);
      takeLinkToken(`/${h}`);
    }), { numRuns: 5_000 });
  });

  it('finds a cookie among others, and never passes Wharf\'s own on to the app', () => {
    const jar = fc.uniqueArray(fc.tuple(cookieName, cookieValue), { selector: ([n]) => n, maxLength: 6 });
    fc.assert(fc.property(jar, cookieValue, fc.nat(), (others, value, at) => {
      const list = others.filter(([n]) => n !== SESSION_COOKIE).map(([n, v]) => `${n}=${v}`);
      list.splice(at % (list.length + 1), 0, `${SESSION_COOKIE}=${value}`);
      const h = list.join('; ');
      expect(readCookie(h, SESSION_COOKIE)).toBe(value);
      expect(withoutWharfCookies(h) ?? '').not.toContain(`${SESSION_COOKIE}=`);
    }), { numRuns: 2_000 });
  });

  it('refuses random and altered app session cookies, and reads its own back', () => {
    const cookies = new SessionCookies(randomBytes(32));
    const session = { sub: 'u-1', instance: 'i-1', exp: 4_000_000_000, iat: 1 };
    const good = cookies.mint(session);
    expect(cookies.verify(good, 0)).toEqual(session);
    fc.assert(fc.property(header, (v) => { expect(['invalid', 'expired']).toContain(cookies.verify(v)); }), { numRuns: 3_000 });
    fc.assert(fc.property(fc.nat(good.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (at, c) => {
      const altered = good.slice(0, at) + c + good.slice(at + 1);
      if (altered !== good) expect(cookies.verify(altered, 0)).toBe('invalid');
    }), { numRuns: 2_000 });
  });

  it('answers random and altered JWTs with AuthFailure only, and accepts a good one', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg: 'EdDSA' };
    const verifier = new TokenVerifier({ getKey: async () => importJWK(jwk, 'EdDSA'), close() {} });
    const good = await new SignJWT({ scope: ['i-1'] }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject('u-1').setAudience(TOKEN_AUDIENCE)
      .setIssuedAt().setExpirationTime('1h').sign(privateKey);
    expect((await verifier.verify(good, false)).sub).toBe('u-1');
    const refused = async (token: string) => {
      try {
        await verifier.verify(token, false);
        return false;
      } catch (err) {
        if (err instanceof AuthFailure) return true;
        throw err;
      }
    };
    const jwtish = fc.array(fc.base64String({ maxLength: 80 }), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.').replaceAll('=', ''));
    await fc.assert(fc.asyncProperty(fc.oneof(header, jwtish), async (token) => { expect(await refused(token)).toBe(true); }), { numRuns: 2_000 });
    await fc.assert(fc.asyncProperty(fc.nat(good.length - 1), fc.constantFrom('A', 'b', '-', '_', '.', '0'), async (at, c) => {
      const altered = good.slice(0, at) + c + good.slice(at + 1);
      // base64url has padding bits: a change there may leave the same bytes, which is the same token.
      if (altered !== good) await refused(altered);
    }), { numRuns: 1_000 });
  });
});

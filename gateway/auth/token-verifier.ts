import { errors, jwtVerify } from 'jose';
import { Value } from '@sinclair/typebox/value';
import { TOKEN_AUDIENCE, TokenClaims } from '../../protocol/token.ts';
import type { GatewayErrorCode } from '../errors.ts';
import type { KeySource } from './key-source.ts';

/** Why a token was refused, as the gateway error code to answer with. */
export class AuthFailure extends Error {
  readonly code: GatewayErrorCode;
  constructor(code: GatewayErrorCode, reason: string) {
    super(reason);
    this.code = code;
  }
}

const CACHE_MAX = 10_000;
const CACHE_TTL_MS = 60_000; // a revoked key stops working within a minute even for cached tokens

/**
 * Checks EdDSA JWTs against the key source: `aud` wharf-gateway, `exp` required and enforced,
 * claims of the protocol's shape. A verified token is remembered until its expiry (at most a
 * minute), so a client sending the same Bearer token pays for one signature check, not one per
 * request.
 */
export class TokenVerifier {
  readonly #keys: KeySource;
  readonly #cache = new Map<string, { claims: TokenClaims; untilMs: number }>();

  constructor(keys: KeySource) {
    this.#keys = keys;
  }

  /** The claims of a token verified earlier and still valid, without any signature work. */
  cached(token: string): TokenClaims | undefined {
    const hit = this.#cache.get(token);
    if (!hit) return undefined;
    if (hit.untilMs > Date.now()) return hit.claims;
    this.#cache.delete(token);
    return undefined;
  }

  /** Verifies a token; throws AuthFailure. `remember: false` for one-time link tokens. */
  async verify(token: string, remember = true): Promise<TokenClaims> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.#keys.getKey, {
        audience: TOKEN_AUDIENCE,
        algorithms: ['EdDSA', 'Ed25519'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw toFailure(err);
    }
    if (!Value.Check(TokenClaims, payload)) throw new AuthFailure('GW_AUTH_INVALID', 'claims are not of the Wharf token shape');
    const claims = payload as TokenClaims;
    if (remember) {
      if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(token, { claims, untilMs: Math.min(claims.exp * 1000, Date.now() + CACHE_TTL_MS) });
    }
    return claims;
  }

  /** Forgets verified tokens: the keys changed. */
  flush(): void {
    this.#cache.clear();
  }
}

function toFailure(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return new AuthFailure('GW_AUTH_EXPIRED', 'token expired');
  if (err instanceof errors.JWKSTimeout) return new AuthFailure('GW_AUTH_UNAVAILABLE', 'JWKS fetch timed out');
  if (err instanceof errors.JOSEError) return new AuthFailure('GW_AUTH_INVALID', err.code);
  // Anything else is the key source failing (a JWKS URL not reachable), not a bad token.
  return new AuthFailure('GW_AUTH_UNAVAILABLE', (err as Error)?.message ?? String(err));
}

/** Does the token's scope name this instance (or everything)? */
export function inScope(claims: TokenClaims, instance: string): boolean {
  return claims.scope.includes(instance) || claims.scope.includes('*');
}

import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export interface Signer {
  kid: string;
  /** The public key as a JWK, for a JWKS. */
  jwk: JWK;
  /** Signs a Wharf token; claims override the defaults (aud wharf-gateway, sub alice, exp in 5 min). */
  sign(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

/** An Ed25519 key pair like control's, for signing test tokens. */
export async function createSigner(kid: string = randomUUID()): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return {
    kid,
    jwk,
    async sign(claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ aud: 'wharf-gateway', sub: 'alice', scope: ['*'], iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid, ...header })
        .sign(privateKey);
    },
  };
}

export function jwks(...signers: Signer[]): string {
  return JSON.stringify({ keys: signers.map((s) => s.jwk) });
}

/** A one-time browser link token: jti and a 60 s lifetime. */
export function linkClaims(instance: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { scope: [instance], jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 60, ...extra };
}

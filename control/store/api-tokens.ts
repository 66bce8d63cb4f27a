import { createHash, timingSafeEqual } from 'node:crypto';
import { randomString } from './random-id.ts';

/*
 * Bearer credentials as `<prefix>_<id>_<secret>`: API tokens are `wharf_<id>_<secret>`,
 * gateway keys `wharfgw_<id>_<secret>`. The id finds the row; only sha256(secret) is stored.
 * The secret is 40 characters of [a-z0-9] (about 206 bits), so a fast hash is enough: there
 * is nothing to guess, unlike a password.
 */

export const API_TOKEN_PREFIX = 'wharf';
export const GATEWAY_KEY_PREFIX = 'wharfgw';

const ID_CHARS = 12;
const SECRET_CHARS = 40;

export interface NewCredential {
  id: string;
  /** The clear credential: shown once, never stored. */
  token: string;
  /** sha256 of the secret, hex: what the store keeps. */
  hash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, hash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** A new random secret of the credential alphabet (agents' secrets use this too). */
export function newSecret(): string {
  return randomString(SECRET_CHARS);
}

export function createCredential(prefix = API_TOKEN_PREFIX): NewCredential {
  const id = randomString(ID_CHARS);
  const secret = newSecret();
  return { id, token: `${prefix}_${id}_${secret}`, hash: hashSecret(secret) };
}

/** `{id, secret}` of a well-formed credential with this prefix, else undefined. */
export function parseCredential(token: string, prefix = API_TOKEN_PREFIX): { id: string; secret: string } | undefined {
  const match = new RegExp(`^${prefix}_([a-z0-9]{${ID_CHARS}})_([a-z0-9]{${SECRET_CHARS}})$`).exec(token);
  return match ? { id: match[1], secret: match[2] } : undefined;
}


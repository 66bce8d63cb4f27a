import type { Sealer } from './sealed.ts';

/** One sign-in on its way through the identity provider: what its callback must check. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  /** The PKCE code verifier (S256). */
  verifier: string;
  /** The path on this host to go to after (safeLocalPath). */
  ret: string;
  /** Unix ms after which the callback refuses it. */
  exp: number;
}

export const PENDING_COOKIE = 'wharf_oidc';
/** How long the IdP's login may take. */
export const PENDING_TTL_MS = 10 * 60_000;
/**
 * Sign-ins kept at once (tabs that started one): the oldest goes first. One cookie holding a
 * few, rather than a cookie per sign-in, so that they never pile up into a 431 however many
 * tabs start one (oauth2-proxy #2481); a bounded few so that two tabs both finish.
 */
export const MAX_PENDING = 4;

/**
 * The `wharf_oidc` cookie: the pending sign-ins, sealed (the verifier and nonce stay secret),
 * on the callback's path only, HttpOnly, Secure and SameSite=Lax (the IdP's redirect back is
 * a top-level GET, which Lax lets through).
 */
export class PendingSignIns {
  readonly #sealer: Sealer;

  constructor(sealer: Sealer) {
    this.#sealer = sealer;
  }

  /** The pending sign-ins of a cookie value still in time at `now`; none for a missing, altered or foreign one. */
  read(value: string | undefined, now: number): PendingSignIn[] {
    const plain = value ? this.#sealer.open(value) : undefined;
    if (!plain) return [];
    try {
      const list = JSON.parse(plain) as PendingSignIn[];
      return Array.isArray(list) ? list.filter((p) => typeof p?.state === 'string' && typeof p.exp === 'number' && p.exp > now).slice(-MAX_PENDING) : [];
    } catch {
      return [];
    }
  }

  /** The `Set-Cookie` header holding `list` (a removing one when empty). */
  setCookie(list: PendingSignIn[]): string {
    if (list.length === 0) return `${PENDING_COOKIE}=; Path=/auth/oidc; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
    const value = this.#sealer.seal(JSON.stringify(list.slice(-MAX_PENDING)));
    return `${PENDING_COOKIE}=${value}; Path=/auth/oidc; Max-Age=${PENDING_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Lax`;
  }
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { readOrCreateKey } from '../../protocol/key-file.ts';

export interface Session {
  sub: string;
  instance: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /**
   * When the session began, Unix seconds: the `iat` of the link it was exchanged for, so on
   * control's clock, as revocations are (0 for a cookie made before this was recorded).
   */
  iat: number;
}

/**
 * The app-host cookie a one-time link is exchanged for, minted by the gateway itself with
 * HMAC-SHA256, so a browser keeps working after the 60 s link token has expired, and checking
 * it costs a hash rather than a signature check.
 * Format: `v1.<base64url(JSON)>.<base64url(MAC)>`.
 *
 * The key: fed by control, control's one key for every gateway, which comes on the route
 * stream (setKey), so that every gateway accepts every other's cookies; until it has come,
 * no cookie is accepted or made. On a routes file, a key of the gateway's own in WHARF_HOME.
 */
export class SessionCookies {
  #key: Buffer | undefined;

  constructor(key?: Buffer) {
    if (key) this.setKey(key);
  }

  /** Loads the key from `file`, creating a random one (0600) on first use. */
  static fromKeyFile(file: string): SessionCookies {
    return new SessionCookies(readOrCreateKey(file));
  }

  /** Whether cookies can be made and checked: the key is known. */
  get ready(): boolean {
    return this.#key !== undefined;
  }

  /** Takes a new key; cookies of the old one are refused from now on. Returns whether it changed. */
  setKey(key: Buffer): boolean {
    if (key.length < 32) throw new Error('the session key must be at least 32 bytes');
    if (this.#key?.equals(key)) return false;
    this.#key = Buffer.from(key);
    return true;
  }

  /** Throws when no key is known yet (check `ready`). */
  mint(session: Session): string {
    const body = Buffer.from(JSON.stringify({ s: session.sub, i: session.instance, e: session.exp, t: session.iat })).toString('base64url');
    return `v1.${body}.${this.#mac(body)}`;
  }

  /** The session in `value`, or why it is refused: a wrong MAC or shape (or no key yet), or its expiry. */
  verify(value: string, nowS = Date.now() / 1000): Session | 'invalid' | 'expired' {
    if (!this.#key) return 'invalid';
    const first = value.indexOf('.');
    const last = value.lastIndexOf('.');
    if (value.slice(0, first) !== 'v1' || last <= first) return 'invalid';
    const body = value.slice(first + 1, last);
    // The MAC's text, not its decoded bytes: base64url's spare bits would let other texts pass as it.
    const mac = Buffer.from(value.slice(last + 1));
    const expected = Buffer.from(this.#mac(body));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'invalid';
    let p: { s?: unknown; i?: unknown; e?: unknown; t?: unknown };
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return 'invalid';
    }
    if (typeof p.s !== 'string' || typeof p.i !== 'string' || typeof p.e !== 'number') return 'invalid';
    if (p.e <= nowS) return 'expired';
    return { sub: p.s, instance: p.i, exp: p.e, iat: typeof p.t === 'number' ? p.t : 0 };
  }

  #mac(body: string): string {
    if (!this.#key) throw new Error('no app session key yet');
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CONSOLE_COOKIE } from '../../protocol/token.ts';
import type { Clock } from '../store/store.ts';

/** How long a dashboard sign-in lasts. */
export const CONSOLE_SESSION_TTL_S = 12 * 3600;

export interface ConsoleSession {
  /** The user's id. */
  sub: string;
  /** A random session id: what logout revokes. */
  sid: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /** When it was issued, Unix ms (0 for a cookie made before this was recorded). */
  iat: number;
}

/**
 * The dashboard's `wharf_console` cookie: `v1.<base64url(JSON)>.<base64url(HMAC-SHA256)>`
 * under a key shared by every control through the store (keys/shared-key.ts), so that a
 * sign-in holds on every control and across restarts without a table. Each cookie names a
 * random session id; logout revokes that id until the cookie would have expired anyway. The
 * revoked ids are checked here, in memory, and kept in the store (SignOutStore), from which every
 * control reads them at start and again when another signs someone out (follow-other-controls.ts),
 * so a copied cookie of a signed-out session works nowhere. Replacing the stored key signs everyone out.
 *
 * A user's sessions can also end together (a changed password): endSessionsOf refuses every
 * session of theirs issued before a time (the browser that changed it gets a new session, with
 * a new id, so a copy of its old cookie ends too). Control seeds it at start
 * from the persisted app session revocations, so those sessions stay ended across restarts.
 */
export class ConsoleSessions {
  readonly #key: Buffer;
  readonly #clock: Clock;
  readonly #revoked = new Map<string, number>();
  /** User id → sessions issued before this time (ms) are refused. */
  readonly #ended = new Map<string, number>();
  readonly ttlS: number;

  constructor(key: Buffer, clock: Clock, ttlS = CONSOLE_SESSION_TTL_S) {
    if (key.length < 32) throw new Error('the console session key must be at least 32 bytes');
    this.#key = key;
    this.#clock = clock;
    this.ttlS = ttlS;
  }

  /** A random key for tests and for a control without a home. */
  static ephemeral(clock: Clock): ConsoleSessions {
    return new ConsoleSessions(randomBytes(32), clock);
  }

  /**
   * A new session for `userId`: the cookie value and its `Set-Cookie` header. With `sid`, the
   * same session issued anew (after the user's other sessions ended, it outlives the end).
   */
  mint(userId: string, sid?: string): { value: string; session: ConsoleSession; setCookie: string } {
    const now = this.#clock();
    const session: ConsoleSession = { sub: userId, sid: sid ?? randomBytes(16).toString('base64url'), exp: Math.floor(now / 1000) + this.ttlS, iat: now };
    const body = Buffer.from(JSON.stringify({ s: session.sub, i: session.sid, e: session.exp, t: session.iat })).toString('base64url');
    const value = `v1.${body}.${this.#mac(body)}`;
    return { value, session, setCookie: `${CONSOLE_COOKIE}=${value}; Path=/; Max-Age=${this.ttlS}; HttpOnly; Secure; SameSite=Lax` };
  }

  /** The session of a cookie value, or undefined when malformed, wrongly signed, expired or revoked. */
  verify(value: string | undefined): ConsoleSession | undefined {
    if (!value) return undefined;
    const first = value.indexOf('.');
    const last = value.lastIndexOf('.');
    if (value.slice(0, first) !== 'v1' || last <= first) return undefined;
    const body = value.slice(first + 1, last);
    // The MAC's text, not its decoded bytes: base64url's spare bits would let other texts pass as it.
    const mac = Buffer.from(value.slice(last + 1));
    const expected = Buffer.from(this.#mac(body));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    let p: { s?: unknown; i?: unknown; e?: unknown; t?: unknown };
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return undefined;
    }
    if (typeof p.s !== 'string' || typeof p.i !== 'string' || typeof p.e !== 'number') return undefined;
    if (p.e <= this.#clock() / 1000 || this.#revoked.has(p.i)) return undefined;
    const iat = typeof p.t === 'number' ? p.t : 0;
    const ended = this.#ended.get(p.s);
    if (ended !== undefined && iat < ended) return undefined;
    return { sub: p.s, sid: p.i, exp: p.e, iat };
  }

  /** Ends every session of `userId` issued before `before` (ms). In memory: see the class comment for how it survives a restart. */
  endSessionsOf(userId: string, before: number): void {
    this.#ended.set(userId, Math.max(before, this.#ended.get(userId) ?? 0));
  }


  /** Sign-outs from the store (this control's and the others'): refused like those revoked here. */
  signedOut(entries: { sid: string; expires: number }[]): void {
    for (const e of entries) this.#revoked.set(e.sid, Math.floor(e.expires / 1000));
  }

  /** Logout: the session is refused from now on by this control (the caller records it in the store for the others). */
  revoke(session: ConsoleSession): void {
    const nowS = this.#clock() / 1000;
    for (const [sid, exp] of this.#revoked) if (exp <= nowS) this.#revoked.delete(sid);
    this.#revoked.set(session.sid, session.exp);
  }

  /** The `Set-Cookie` header that removes the cookie. */
  static clearCookie(): string {
    return `${CONSOLE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

export { readCookie } from '../../protocol/cookies.ts';

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Session {
  sub: string;
  instance: string;
  /** Expiry, Unix seconds. */
  exp: number;
}

/**
 * The app-host cookie a one-time link is exchanged for. It is minted by the gateway itself
 * (HMAC-SHA256 under a key kept in WHARF_HOME), so a browser keeps working after the 60 s link
 * token has expired, and checking it costs a hash rather than a signature check.
 * Format: `v1.<base64url(JSON)>.<base64url(MAC)>`.
 */
export class SessionCookies {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the session key must be at least 32 bytes');
    this.#key = key;
  }

  /** Loads the key from `file`, creating a random one (0600) on first use. */
  static fromKeyFile(file: string): SessionCookies {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    }
    return new SessionCookies(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url'));
  }

  mint(session: Session): string {
    const body = Buffer.from(JSON.stringify({ s: session.sub, i: session.instance, e: session.exp })).toString('base64url');
    return `v1.${body}.${this.#mac(body)}`;
  }

  /** The session in `value`, or why it is refused: a wrong MAC or shape, or its expiry. */
  verify(value: string, nowS = Date.now() / 1000): Session | 'invalid' | 'expired' {
    const first = value.indexOf('.');
    const last = value.lastIndexOf('.');
    if (value.slice(0, first) !== 'v1' || last <= first) return 'invalid';
    const body = value.slice(first + 1, last);
    const mac = Buffer.from(value.slice(last + 1), 'base64url');
    const expected = Buffer.from(this.#mac(body), 'base64url');
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'invalid';
    let p: { s?: unknown; i?: unknown; e?: unknown };
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return 'invalid';
    }
    if (typeof p.s !== 'string' || typeof p.i !== 'string' || typeof p.e !== 'number') return 'invalid';
    if (p.e <= nowS) return 'expired';
    return { sub: p.s, instance: p.i, exp: p.e };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

import type { IncomingMessage } from 'node:http';
import type { SessionState } from '../../protocol/route-stream.ts';
import { PATH_SESSION_COOKIE, SESSION_COOKIE, TOKEN_AUDIENCE, type TokenClaims } from '../../protocol/token.ts';
import type { GatewayErrorCode } from '../errors.ts';
import { bearerToken, readCookie, takeLinkToken } from './credentials.ts';
import { LocalLinks, type LinkClaims } from './one-time-links.ts';
import type { SessionCookies } from './session-cookie.ts';
import { SessionConnections } from './session-connections.ts';
import { SessionRevocations } from './session-revocations.ts';
import { AuthFailure, inScope, type TokenVerifier } from './token-verifier.ts';

export type AuthResult =
  /** Go on to the app; `bearer`: the Authorization header carried Wharf's token and must be dropped. */
  | { kind: 'pass'; bearer: boolean }
  /** A one-time link was exchanged: set the cookie and send the browser to the clean URL. */
  | { kind: 'redirect'; location: string; cookie: string }
  | { kind: 'deny'; code: GatewayErrorCode };

const PASS_PUBLIC: AuthResult = { kind: 'pass', bearer: false };
const PASS_BEARER: AuthResult = { kind: 'pass', bearer: true };
const PASS_COOKIE: AuthResult = { kind: 'pass', bearer: false };
const LINK_MAX_LIFETIME_S = 600; // a "one-time" link that lives longer than this is refused

export interface AuthenticatorOptions {
  /** Undefined when the gateway has no JWKS: only public routes and existing cookies work. */
  tokens: TokenVerifier | undefined;
  sessions: SessionCookies;
  sessionTtlS: number;
  /** Where one-time links are claimed (control, or a file of the gateway's own); default: memory only. */
  links?: LinkClaims;
}

/**
 * Decides whether a request may reach an app (DESIGN.md "Tokens"): a Bearer token, the
 * app-host session cookie, or a one-time `?wharf_token=` link exchanged for that cookie.
 * Returns synchronously on the hot paths (cookie, cached Bearer token).
 *
 * Fed by control (docs/sessions.md), it also holds control's app session state: the cookie
 * key every gateway shares, and revocations, which refuse a user's cookies and tokens issued
 * before a time (answered GW_AUTH_EXPIRED, so that a browser goes through sign-in again) and
 * close the connections such requests came on.
 */
export class Authenticator {
  readonly #tokens: TokenVerifier | undefined;
  readonly #sessions: SessionCookies;
  readonly #sessionTtlS: number;
  readonly #links: LinkClaims;
  readonly #revocations = new SessionRevocations();
  readonly #connections = new SessionConnections();

  constructor(options: AuthenticatorOptions) {
    this.#tokens = options.tokens;
    this.#sessions = options.sessions;
    this.#sessionTtlS = options.sessionTtlS;
    this.#links = options.links ?? new LocalLinks();
  }

  close(): void {
    this.#links.close();
  }

  /**
   * Takes control's app session state: the cookie key, and the revocations, which replace
   * the previous ones. Closes the live connections of requests that are refused now, and
   * says how many, and whether the key changed. The state holds a secret: never log it.
   */
  applySessions(state: SessionState): { keyChanged: boolean; closed: number } {
    const keyChanged = this.#sessions.setKey(Buffer.from(state.key, 'base64url'));
    this.#revocations.replace(state.revoked);
    const closed = this.#connections.closeRefused((user, instance, iatS) => this.#revocations.refuses(user, instance, iatS));
    return { keyChanged, closed };
  }

  /**
   * @param instance the route's instance, which a token's scope must name
   * @param cookiePath the Path of the session cookie: `/`, or `/app/<id>/` under path routing
   */
  check(req: IncomingMessage, instance: string, isPublic: boolean, cookiePath: string): AuthResult | Promise<AuthResult> {
    const url = req.url!;
    if (url.includes('wharf_token=')) {
      const link = takeLinkToken(url);
      if (link) return this.#exchange(req, link.token, link.rest, instance, isPublic, cookiePath);
    }
    const bearer = bearerToken(req.headers.authorization);
    // A public app must not collect Wharf tokens that its visitors happen to send.
    if (isPublic) return bearer !== undefined && isWharfToken(bearer) ? PASS_BEARER : PASS_PUBLIC;
    if (bearer !== undefined) {
      if (!this.#tokens) return { kind: 'deny', code: 'GW_AUTH_INVALID' };
      const claims = this.#tokens.cached(bearer);
      if (claims) return this.#bearerPass(req, claims, instance);
      return this.#tokens.verify(bearer).then(
        (c) => this.#bearerPass(req, c, instance),
        (err: unknown) => deny(err),
      );
    }
    return this.#cookie(req, instance, cookiePath);
  }

  /** The app-host session cookie's answer. */
  #cookie(req: IncomingMessage, instance: string, cookiePath: string): AuthResult {
    const cookie = readCookie(req.headers.cookie, cookieName(cookiePath));
    if (cookie !== undefined) {
      const session = this.#sessions.verify(cookie);
      if (session === 'invalid') return { kind: 'deny', code: 'GW_AUTH_INVALID' };
      if (session === 'expired') return { kind: 'deny', code: 'GW_AUTH_EXPIRED' };
      if (session.instance !== instance) return { kind: 'deny', code: 'GW_FORBIDDEN' };
      if (this.#revocations.refuses(session.sub, instance, session.iat)) return REVOKED;
      this.#connections.track(req.socket, session.sub, instance, session.iat);
      return PASS_COOKIE;
    }
    return { kind: 'deny', code: 'GW_AUTH_REQUIRED' };
  }

  #bearerPass(req: IncomingMessage, claims: TokenClaims, instance: string): AuthResult {
    if (!inScope(claims, instance)) return { kind: 'deny', code: 'GW_FORBIDDEN' };
    const iat = issuedAt(claims);
    if (this.#revocations.refuses(claims.sub, instance, iat)) return REVOKED;
    this.#connections.track(req.socket, claims.sub, instance, iat);
    return PASS_BEARER;
  }

  async #exchange(req: IncomingMessage, token: string | undefined, rest: string, instance: string, isPublic: boolean, cookiePath: string): Promise<AuthResult> {
    const result = await this.#tryExchange(token, rest, instance, cookiePath);
    if (result.kind !== 'deny') return result;
    // On a public route a link that cannot be exchanged is still taken out of the URL, so
    // that it never reaches the app; the visitor goes on without a cookie.
    if (isPublic) return { kind: 'redirect', location: rest, cookie: '' };
    // A link opened again (browser back, a reload, a bookmark) by a browser that already holds
    // this app's session: the link is spent, but the cookie is what lets it in; just drop the link.
    if (this.#cookie(req, instance, cookiePath).kind === 'pass') return { kind: 'redirect', location: rest, cookie: '' };
    return result;
  }

  async #tryExchange(token: string | undefined, rest: string, instance: string, cookiePath: string): Promise<AuthResult> {
    if (!token || !this.#tokens) return { kind: 'deny', code: token ? 'GW_AUTH_INVALID' : 'GW_AUTH_REQUIRED' };
    try {
      const claims = await this.#tokens.verify(token, false);
      const nowS = Date.now() / 1000;
      if (!claims.jti || claims.exp - nowS > LINK_MAX_LIFETIME_S) throw new AuthFailure('GW_AUTH_INVALID', 'a link token needs a jti and a short exp');
      if (!inScope(claims, instance)) return { kind: 'deny', code: 'GW_FORBIDDEN' };
      // Without the key (control's has not come yet) no cookie can be made: keep the link unused.
      if (!this.#sessions.ready) return { kind: 'deny', code: 'GW_AUTH_UNAVAILABLE' };
      if (!(await this.#links.claim(claims.jti, claims.exp))) return { kind: 'deny', code: 'GW_LINK_USED' };
      // Checked after the claim, so that a revocation arriving meanwhile is seen too.
      const iat = issuedAt(claims);
      if (this.#revocations.refuses(claims.sub, instance, iat)) return REVOKED;
      const exp = Math.floor(nowS) + this.#sessionTtlS;
      // The cookie's time is the link's (control's clock, as revocations are), else now.
      const value = this.#sessions.mint({ sub: claims.sub, instance, exp, iat: iat ?? Math.floor(nowS) });
      const cookie = `${cookieName(cookiePath)}=${value}; Path=${cookiePath}; Max-Age=${this.#sessionTtlS}; HttpOnly; Secure; SameSite=Lax`;
      return { kind: 'redirect', location: rest, cookie };
    } catch (err) {
      return deny(err);
    }
  }
}

/** A revoked session answers as an expired one: a browser goes through sign-in for a fresh one. */
const REVOKED: AuthResult = { kind: 'deny', code: 'GW_AUTH_EXPIRED' };

/** The token's `iat` (Unix seconds), when it has a usable one. */
function issuedAt(claims: TokenClaims): number | undefined {
  const iat = (claims as { iat?: unknown }).iat;
  return typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined;
}

/** `__Host-wharf_session` on an app's own host; path routing's `/app/<id>/` cannot carry `__Host-`. */
function cookieName(cookiePath: string): string {
  return cookiePath === '/' ? SESSION_COOKIE : PATH_SESSION_COOKIE;
}

/** Does this JWT name the gateway as its audience? Decoded only, not verified: used to drop it. */
function isWharfToken(token: string): boolean {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0) return false;
  try {
    const aud = (JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString()) as { aud?: unknown }).aud;
    return aud === TOKEN_AUDIENCE || (Array.isArray(aud) && aud.includes(TOKEN_AUDIENCE));
  } catch {
    return false;
  }
}

function deny(err: unknown): AuthResult {
  if (err instanceof AuthFailure) return { kind: 'deny', code: err.code };
  throw err;
}

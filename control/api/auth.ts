import type { FastifyRequest } from 'fastify';
import { CONSOLE_COOKIE } from '../../protocol/token.ts';
import { ControlError } from '../errors.ts';
import { readCookie, type ConsoleSession, type ConsoleSessions } from '../keys/console-sessions.ts';
import type { Store, User } from '../store/store.ts';
import type { SsoSessions } from '../sso/sso-sessions.ts';

/** The presented `Authorization: Bearer` credential, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Methods that change state: a cookie-authenticated one needs our own Origin (CSRF). */
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The dashboard sign-in: its cookie sessions and the public origin its pages are served from. */
export interface ConsoleAuth {
  sessions: ConsoleSessions;
  /** e.g. `https://localhost:8443`: an unsafe cookie-authenticated request must send this Origin. */
  origin: string;
  /** Single sign-on: a session made through the IdP is refreshed when due, and ends when the IdP refuses. */
  sso?: Pick<SsoSessions, 'check'>;
}

/**
 * API authentication: a `Bearer` API token, verified through the store, or else the
 * dashboard's `wharf_console` cookie; a cookie-authenticated POST/PUT/PATCH/DELETE must come
 * with `Origin` equal to the public URL's origin (403 CTL_BAD_ORIGIN otherwise). The user is kept per
 * request in a WeakMap rather than on the request object, so no fastify type is augmented.
 */
export class ApiAuth {
  readonly #store: Store;
  readonly #users = new WeakMap<FastifyRequest, User>();
  /** What each request was authenticated by, so that a long-lived stream can check it again. */
  readonly #credentials = new WeakMap<FastifyRequest, ({ token: string } | { cookie: string | undefined }) & { user: User }>();

  readonly console: ConsoleAuth | undefined;

  constructor(store: Store, console?: ConsoleAuth) {
    this.#store = store;
    this.console = console;
  }

  /** The valid console session of the request's cookie and its user, or undefined. */
  async session(request: FastifyRequest): Promise<{ session: ConsoleSession; user: User } | undefined> {
    const session = this.console?.sessions.verify(readCookie(request.headers.cookie, CONSOLE_COOKIE));
    if (!session) return undefined;
    const user = await this.#store.users.get(session.sub);
    const current = user && this.console?.sso ? await this.console.sso.check(session, user) : user;
    return current ? { session, user: current } : undefined;
  }

  /** Throws CTL_BAD_ORIGIN unless a state-changing request carries our own Origin. */
  checkOrigin(request: FastifyRequest): void {
    if (!UNSAFE.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin !== this.console?.origin) throw new ControlError('CTL_BAD_ORIGIN', origin ? `Origin "${origin}" is not this Wharf's` : 'no Origin header was sent');
  }

  /** An onRequest hook: 401 CTL_UNAUTHENTICATED unless a valid token is presented. */
  readonly authenticate = async (request: FastifyRequest): Promise<void> => {
    const token = bearer(request.headers.authorization);
    if (!token) {
      const signedIn = await this.session(request);
      if (!signedIn) throw new ControlError('CTL_UNAUTHENTICATED', 'no API token or valid sign-in cookie was sent');
      this.checkOrigin(request);
      this.#users.set(request, signedIn.user);
      this.#credentials.set(request, { cookie: readCookie(request.headers.cookie, CONSOLE_COOKIE), user: signedIn.user });
      return;
    }
    const user = await this.#store.apiTokens.verify(token);
    if (!user) throw new ControlError('CTL_UNAUTHENTICATED', 'this API token is unknown, malformed or revoked');
    this.#users.set(request, user);
    this.#credentials.set(request, { token, user });
  };

  /**
   * Whether what authenticated `request` is still good: the sign-in session not expired or
   * signed out, the API token not revoked, and its user still there with the same rights.
   * Streams that outlive their request check it, so an ended session ends them too (and the
   * dashboard goes to sign-in when it reconnects), and a demoted admin's stream stops showing
   * everyone's instances (it reconnects with the user's own view).
   */
  async stillValid(request: FastifyRequest): Promise<boolean> {
    const credential = this.#credentials.get(request);
    if (!credential) return false;
    const session = 'token' in credential ? undefined : this.console?.sessions.verify(credential.cookie);
    const valid = 'token' in credential ? (await this.#store.apiTokens.verify(credential.token)) !== undefined : session !== undefined;
    if (!valid) return false;
    let now = await this.#store.users.get(credential.user.id);
    // An SSO session is refreshed here too when due: a stream sees the IdP's word like any request.
    if (now && session && this.console?.sso) now = await this.console.sso.check(session, now);
    return now !== undefined && now.admin === credential.user.admin;
  }

  user(request: FastifyRequest): User {
    const user = this.#users.get(request);
    if (!user) throw new ControlError('CTL_UNAUTHENTICATED');
    return user;
  }

  admin(request: FastifyRequest): User {
    const user = this.user(request);
    if (!user.admin) throw new ControlError('CTL_FORBIDDEN', `user "${user.name}" is not an admin`);
    return user;
  }
}

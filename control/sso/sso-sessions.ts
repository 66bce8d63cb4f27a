import type { Logger } from 'pino';
import { audit } from '../audit/audit-log.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { ConsoleSession, ConsoleSessions } from '../keys/console-sessions.ts';
import { signOut } from '../keys/sign-out.ts';
import type { Clock, Store, User } from '../store/store.ts';
import { refusedByProvider, type Grant, type IdentityProvider } from './identity-provider.ts';
import type { Sealer } from './sealed.ts';
import type { SsoConfig } from './sso-config.ts';
import { applyGroups, SSO_ACTOR } from './sso-users.ts';

/** How long one control holds a refresh before another may try (the IdP's request timeout is 10 s). */
const REFRESH_LEASE_MS = 30_000;
/** When the IdP cannot be reached, the next try. */
const RETRY_MS = 30_000;

export interface SsoSessionDeps {
  store: Store;
  config: SsoConfig;
  idp: IdentityProvider;
  /** Seals the refresh tokens kept in the store. */
  sealer: Sealer;
  consoleSessions: ConsoleSessions;
  appSessions: AppSessions;
  clock: Clock;
  log: Logger;
}

/**
 * The IdP sessions behind SSO sign-ins. The refresh token stays server-side (sealed in the
 * store, never in a cookie). When the access token's time is up, the next request of that
 * session refreshes it, on one control of several (SsoStore.claimRefresh), and applies the
 * claims as they are now: a group removed at the IdP takes its admin and memberships with
 * it. When the IdP refuses the refresh (a disabled account, a revoked grant) the session ends
 * everywhere, with the user's app sessions, and that request, like every later one, gets
 * 401: JSON for an API call or a stream, the sign-in page for a navigation only.
 */
export class SsoSessions {
  readonly #d: SsoSessionDeps;
  /** Refreshes in flight on this control: concurrent requests of a session wait for the one. */
  readonly #inflight = new Map<string, Promise<User | undefined>>();

  constructor(deps: SsoSessionDeps) {
    this.#d = deps;
  }

  /** Keeps what a sign-in's refreshes need, for the console session `session`. */
  async begin(session: ConsoleSession, user: User, grant: Grant): Promise<void> {
    const { store, sealer, clock } = this.#d;
    await store.sso.saveSession({
      sid: session.sid, user: user.id,
      refreshToken: grant.refreshToken ? sealer.seal(grant.refreshToken) : null,
      idToken: grant.idToken ?? null,
      refreshAt: clock() + grant.expiresInS * 1000,
      expires: session.exp * 1000,
    });
  }

  /** The request's user as the IdP has them now, refreshing when due; undefined when the IdP ended the session. A password sign-in passes as it is. */
  check(session: ConsoleSession, user: User): Promise<User | undefined> {
    const running = this.#inflight.get(session.sid);
    if (running) return running;
    const check = this.#check(session, user).finally(() => this.#inflight.delete(session.sid));
    this.#inflight.set(session.sid, check);
    return check;
  }

  async #check(session: ConsoleSession, user: User): Promise<User | undefined> {
    const { store, idp, sealer, clock, log } = this.#d;
    const row = await store.sso.session(session.sid);
    const now = clock();
    if (!row || row.refreshAt > now) return user;
    if (!(await store.sso.claimRefresh(session.sid, now, REFRESH_LEASE_MS))) return user; // another control is at it
    const refreshToken = row.refreshToken ? sealer.open(row.refreshToken) : undefined;
    if (!refreshToken) return this.#end(session, user, 'the identity provider gave no refresh token');
    let grant: Grant;
    try {
      grant = await idp.refresh(refreshToken, await this.#subject(user));
    } catch (err) {
      const refusal = refusedByProvider(err);
      if (refusal) return this.#end(session, user, `the identity provider refused the refresh (${refusal})`);
      // Unreachable, or an answer we cannot use: the session stands until the IdP says otherwise.
      log.warn({ err: (err as Error).message, user: user.name }, 'single sign-on refresh failed; trying again later');
      await store.sso.saveSession({ ...row, refreshAt: now + RETRY_MS });
      return user;
    }
    const now2 = clock();
    const updated = await applyGroups(this.#d, user, grant.claims);
    await store.sso.saveSession({
      ...row,
      refreshToken: grant.refreshToken ? sealer.seal(grant.refreshToken) : row.refreshToken,
      idToken: grant.idToken ?? row.idToken,
      refreshAt: now2 + grant.expiresInS * 1000,
    });
    return updated;
  }

  /** The IdP subject the user is linked to (each SSO user has one). */
  async #subject(user: User): Promise<string> {
    const subject = await this.#d.store.sso.subjectOf(this.#d.config.issuer.href, user.id);
    if (!subject) throw new Error(`user "${user.name}" has no single sign-on account`);
    return subject;
  }

  async #end(session: ConsoleSession, user: User, reason: string): Promise<undefined> {
    const { store, consoleSessions, appSessions, clock } = this.#d;
    await signOut(store, consoleSessions, session);
    await store.sso.endSession(session.sid);
    await appSessions.revoke(user.id, clock());
    await audit(store, SSO_ACTOR, 'signout', { target: user.name, detail: { method: 'oidc', reason } });
    return undefined;
  }

  /** Sign-out: forgets the IdP session and returns the IdP's end-session URL to offer, if it has one. */
  async end(session: ConsoleSession, postLogoutRedirect: string): Promise<string | undefined> {
    const row = await this.#d.store.sso.session(session.sid);
    if (!row) return undefined;
    await this.#d.store.sso.endSession(session.sid);
    try {
      return await this.#d.idp.endSessionUrl(row.idToken, postLogoutRedirect);
    } catch (err) {
      this.#d.log.warn({ err: (err as Error).message }, 'the identity provider\'s end-session URL is unknown (it cannot be reached)');
      return undefined;
    }
  }
}

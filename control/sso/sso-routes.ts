import type { FastifyInstance, FastifyReply } from 'fastify';
import * as oidc from 'openid-client';
import { readCookie } from '../../protocol/cookies.ts';
import { escapeHtml, ownPage } from '../api/own-page.ts';
import { safeLocalPath } from '../api/signin.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { ConsoleSessions } from '../keys/console-sessions.ts';
import type { AppHosts } from '../keys/gateway-tokens.ts';
import type { Clock, Store } from '../store/store.ts';
import { refusedByProvider, type IdentityProvider } from './identity-provider.ts';
import { PENDING_COOKIE, PENDING_TTL_MS, type PendingSignIns } from './pending-sign-ins.ts';
import type { SsoSessions } from './sso-sessions.ts';
import { applyGroups, SignInRefused, SSO_ACTOR, userOf, type SsoUserDeps } from './sso-users.ts';

export const CALLBACK_PATH = '/auth/oidc/callback';

export interface SsoRouteDeps extends SsoUserDeps {
  idp: IdentityProvider;
  pending: PendingSignIns;
  ssoSessions: SsoSessions;
  consoleSessions: ConsoleSessions;
  hosts: AppHosts;
  clock: Clock;
  store: Store;
  /** The built dashboard, for the pages' stylesheet. */
  distDir: string;
}

/**
 * Single sign-on (docs/sso.md), the authorization code flow with PKCE:
 *
 * - GET /auth/oidc/start?return=/path: a fresh state, nonce and code verifier, kept sealed in
 *   the bounded `wharf_oidc` cookie (pending-sign-ins.ts), then 303 to the IdP.
 * - GET /auth/oidc/callback: the IdP's answer. The state picks the pending sign-in (another
 *   tab's stay pending), openid-client checks state, PKCE and the ID token's nonce, issuer,
 *   audience and signature; then the account's user (made at its first sign-in), its groups
 *   applied, a dashboard session, and 303 to `return`. A refusal is a page that says why, with
 *   a way to try again: this is a browser's navigation, never an API call.
 */
export function ssoRoutes(app: FastifyInstance, deps: SsoRouteDeps): void {
  const { idp, pending, store, clock, hosts } = deps;
  const redirectUri = () => new URL(CALLBACK_PATH.slice(1), hosts.publicUrl).href;
  const failed = (reply: FastifyReply, status: number, message: string, ret = '/') => ownPage(reply.code(status), deps.distDir, 'Sign-in failed',
    `<div class="signin-card"><h1>Sign-in failed</h1><p id="error" role="alert">${escapeHtml(message)}</p>
<a class="button primary" href="/signin?return=${escapeHtml(encodeURIComponent(ret))}">Back to sign-in</a></div>`);

  app.get<{ Querystring: { return?: unknown } }>('/auth/oidc/start', async (request, reply) => {
    const raw = request.query.return;
    const ret = raw === undefined ? '/' : safeLocalPath(raw);
    if (ret === undefined) throw new ControlError('CTL_BAD_RETURN', 'return must be a path on this host');
    const now = clock();
    const entry = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), ret, exp: now + PENDING_TTL_MS };
    let url: URL;
    try {
      url = await idp.authorizationUrl(redirectUri(), entry);
    } catch (err) {
      request.log.warn({ err }, 'single sign-on: the identity provider cannot be reached');
      return failed(reply, 502, `${idp.name} cannot be reached (${(err as Error).message}). Try again in a moment.`, ret);
    }
    const list = [...pending.read(readCookie(request.headers.cookie, PENDING_COOKIE), now), entry];
    return reply.header('set-cookie', pending.setCookie(list)).header('cache-control', 'no-store').redirect(url.href, 303);
  });

  app.get<{ Querystring: Record<string, unknown> }>(CALLBACK_PATH, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const now = clock();
    const list = pending.read(readCookie(request.headers.cookie, PENDING_COOKIE), now);
    const state = typeof request.query.state === 'string' ? request.query.state : undefined;
    const entry = list.find((p) => p.state === state);
    const refuse = async (status: number, reason: string, message: string) => {
      await audit(store, SSO_ACTOR, 'signin.failed', { detail: { method: 'oidc', reason } });
      reply.header('set-cookie', pending.setCookie(list.filter((p) => p !== entry)));
      return failed(reply, status, message, entry?.ret);
    };
    if (!entry) return refuse(400, 'unknown or expired sign-in', 'This sign-in is unknown or took longer than 10 minutes. Start it again.');
    if (typeof request.query.error === 'string') {
      const why = typeof request.query.error_description === 'string' ? request.query.error_description.slice(0, 300) : request.query.error;
      return refuse(403, `the identity provider refused: ${request.query.error}`, `${idp.name} did not sign you in: ${why}`);
    }
    let grant;
    try {
      grant = await idp.exchange(new URL(request.url, hosts.publicUrl), entry);
    } catch (err) {
      const refusal = refusedByProvider(err);
      request.log.warn({ err: (err as Error).message }, 'single sign-on: the callback failed');
      return refuse(refusal ? 403 : 502, refusal ? `the identity provider refused: ${refusal}` : 'the answer could not be checked', refusal
        ? `${idp.name} refused the sign-in (${refusal}). Start it again.`
        : `The answer of ${idp.name} could not be checked (${(err as Error).message}).`);
    }
    let user;
    try {
      user = await applyGroups(deps, await userOf(deps, grant.subject, grant.claims), grant.claims);
    } catch (err) {
      if (err instanceof SignInRefused) return refuse(403, err.message, err.message);
      throw err;
    }
    const minted = deps.consoleSessions.mint(user.id);
    await deps.ssoSessions.begin(minted.session, user, grant);
    await audit(store, user, 'signin', { target: user.name, detail: { method: 'oidc' } });
    return reply
      .header('set-cookie', [minted.setCookie, pending.setCookie(list.filter((p) => p !== entry))])
      .redirect(entry.ret, 303);
  });
}

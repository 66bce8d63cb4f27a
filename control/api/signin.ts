import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import { ConsoleSessions, readCookie } from '../keys/console-sessions.ts';
import { CONSOLE_COOKIE } from '../../protocol/token.ts';
import type { ControlMetrics } from '../metrics/control-metrics.ts';
import { appBaseUrl, GatewayTokens, type AppHosts, type NotBefore } from '../keys/gateway-tokens.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { Clock, Store, User } from '../store/store.ts';
import { audit } from '../audit/audit-log.ts';
import type { ApiAuth } from './auth.ts';
import { instanceFor } from '../access/instance-access.ts';
import { DEFAULT_DIST_DIR } from './dashboard.ts';
import { escapeHtml, ownPage } from './own-page.ts';
import { ADMIN_NAME } from '../first-start.ts';
import type { SsoSessions } from '../sso/sso-sessions.ts';
import { PasswordCheck } from './password-check.ts';
import type { SigninThrottleOptions } from './signin-throttle.ts';
import { signOut } from '../keys/sign-out.ts';

/*
 * Dashboard sign-in (DESIGN.md "Tokens", issue 4 "Sign-in" and "Browser sign-in for apps"):
 *
 * - POST /api/v1/auth/login {name, password} sets `wharf_console` (HttpOnly, Secure,
 *   SameSite=Lax, Path=/, 12 h); POST /api/v1/auth/logout revokes and clears it;
 *   GET /api/v1/auth/me names the signed-in user. Failed logins are throttled per client
 *   address and per user name (signin-throttle.ts): a growing wait, then 429
 *   CTL_TOO_MANY_SIGNINS with Retry-After for the address; a wrong name and a wrong password
 *   get the same answer (the store spends the same scrypt work on an unknown name).
 * - GET /signin?return=/path: the sign-in form in the dashboard's stylesheet (light and dark),
 *   which logs in with fetch (GET /signin.js: no inline script under the dashboard's CSP),
 *   then goes to `return` (a path on this host only). GET / is the dashboard (dashboard.ts).
 * - GET /auth/app?instance=ID&return=URL: signed in and allowed on the instance → 303 to the
 *   app host with a fresh one-time `?wharf_token=` (keeping `return`'s path and query);
 *   otherwise → 303 to /signin first. `return` must be on `<ID>.<appsDomain>` with the public
 *   scheme and port (400 CTL_BAD_RETURN otherwise: no open redirect).
 */

export interface SigninDeps {
  store: Store;
  auth: ApiAuth;
  keys: SigningKeys;
  hosts: AppHosts;
  clock: Clock;
  /** A user's last app session revocation (AppSessions.notBefore): links are dated no earlier. */
  notBefore?: NotBefore;
  /** Counts failed sign-ins (wharf_control_signin_failures_total). */
  metrics?: Pick<ControlMetrics, 'countSigninFailure'>;
  /** Sign-in throttling; DEFAULT_SIGNIN_THROTTLE where left out. */
  throttle?: Partial<SigninThrottleOptions>;
  /** The throttled password check, shared with a password change; made from the above when left out. */
  passwords?: PasswordCheck;
  /** The built dashboard, whose stylesheet the sign-in page uses (default: ui/dist). */
  distDir?: string;
  /** Single sign-on, when configured: the IdP's name for the sign-in page, and its sessions (sign-out ends them). */
  sso?: { name: string; sessions: SsoSessions };
  /**
   * Password sign-in (WHARF_LOCAL_PASSWORDS; default on). Off, only the first-start `admin`
   * signs in with a password: the break-glass account for when the IdP is away (docs/sso.md).
   */
  localPasswords?: boolean;
}

export const LoginRequest = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
}, { additionalProperties: false });

const INSTANCE_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A same-host path to go to after sign-in: `/…` but never `//…` or `/\…` (other hosts). */
export function safeLocalPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 4096) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  return value;
}

/** The app URL `ret` names when it lies on `instance`'s own host (scheme, host and port checked), else throws CTL_BAD_RETURN. */
export function checkReturn(ret: string, instance: string, hosts: AppHosts): URL {
  const base = new URL(appBaseUrl(instance, hosts));
  let url: URL;
  try {
    url = new URL(ret);
  } catch {
    throw new ControlError('CTL_BAD_RETURN', 'return is not an absolute URL');
  }
  if (url.protocol !== base.protocol || url.host !== base.host || url.username || url.password) {
    throw new ControlError('CTL_BAD_RETURN', `return must be on ${base.origin}`);
  }
  // The gateway sends the browser to the path after the link exchange: `//evil.example/x` there
  // would be another host.
  if (!safeLocalPath(url.pathname + url.search)) throw new ControlError('CTL_BAD_RETURN', 'return must name a path on the app\'s host (one leading "/")');
  return url;
}

/** The sign-in form's script (GET /signin.js): JSON login, a clear message for each refusal, then `return`. */
const SIGNIN_SCRIPT = `const form = document.getElementById('signin');
const error = document.getElementById('error');
const button = form.querySelector('button[type=submit]');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  button.disabled = true;
  button.textContent = 'Signing in…';
  const data = new FormData(form);
  try {
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: data.get('name'), password: data.get('password') }),
    });
    if (!res.ok) {
      const wait = Number(res.headers.get('retry-after'));
      error.textContent = res.status === 401 ? 'Wrong user name or password.'
        : res.status === 429 ? 'Too many failed sign-ins from here. Try again in ' + (wait > 90 ? Math.ceil(wait / 60) + ' minutes.' : (wait || 60) + ' seconds.')
        : ((await res.json().catch(() => undefined))?.error?.message ?? 'Sign-in failed (' + res.status + ').');
      return;
    }
    const ret = form.dataset.return;
    location.assign(ret && ret.startsWith('/') && !ret.startsWith('//') && !ret.startsWith('/\\\\') ? ret : '/');
  } catch {
    error.textContent = 'Wharf cannot be reached. Try again.';
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
});
`;

/** Sign-in, sign-out, the sign-in page and the `/auth/app` hand-off to apps. */
export function signinRoutes(app: FastifyInstance, deps: SigninDeps): void {
  const { store, auth, keys, hosts, clock } = deps;
  const tokens = new GatewayTokens(keys, hosts, deps.notBefore);
  const passwords = deps.passwords ?? new PasswordCheck({ store, clock, metrics: deps.metrics, throttle: deps.throttle });
  const dist = deps.distDir ?? DEFAULT_DIST_DIR;
  const sessions = () => {
    if (!auth.console) throw new ControlError('CTL_NOT_FOUND', 'dashboard sign-in is not enabled');
    return auth.console.sessions;
  };

  app.post('/api/v1/auth/login', async (request, reply) => {
    // Login CSRF: a browser's request from another site carries that site's Origin.
    if (request.headers.origin !== undefined) auth.checkOrigin(request);
    const body = parse(LoginRequest, request.body ?? {});
    if (deps.localPasswords === false && body.name !== ADMIN_NAME) {
      await audit(store, { id: null, name: body.name.slice(0, 64) }, 'signin.failed', { detail: { method: 'password', reason: 'password sign-in is off' } });
      throw new ControlError('CTL_PASSWORDS_OFF', deps.sso ? `password sign-in is off here: sign in with ${deps.sso.name}` : 'password sign-in is off here');
    }
    // The name typed is the actor of a refusal (cut short: never more than a name's length).
    const refused = (reason: string) => audit(store, { id: null, name: body.name.slice(0, 64) }, 'signin.failed', { detail: { method: 'password', reason } });
    let user: User | undefined;
    try {
      user = await passwords.verify(request, reply, body.name, body.password);
    } catch (err) {
      if (err instanceof ControlError && err.code === 'CTL_TOO_MANY_SIGNINS') await refused('too many failed sign-ins');
      throw err;
    }
    if (!user) {
      await refused('wrong user name or password');
      throw new ControlError('CTL_BAD_LOGIN');
    }
    await audit(store, user, 'signin', { target: user.name, detail: { method: 'password' } });
    const minted = sessions().mint(user.id);
    return reply.header('set-cookie', minted.setCookie).header('cache-control', 'no-store')
      .send({ user: { id: user.id, name: user.name, admin: user.admin }, expiresAt: new Date(minted.session.exp * 1000).toISOString() });
  });

  app.post('/api/v1/auth/logout', async (request, reply) => {
    // The cookie as it is (no refresh on the way out), its user as they were.
    const session = auth.console?.sessions.verify(readCookie(request.headers.cookie, CONSOLE_COOKIE));
    const user = session && await store.users.get(session.sub);
    reply.header('set-cookie', ConsoleSessions.clearCookie()).header('cache-control', 'no-store');
    if (!session || !user) return reply.code(204).send();
    auth.checkOrigin(request);
    await signOut(store, sessions(), session);
    // An SSO session: the IdP's own sign-out is offered, to come back to this sign-in page.
    const endSession = await deps.sso?.sessions.end(session, new URL('signin', hosts.publicUrl).href);
    await audit(store, user, 'signout', { target: user.name, detail: { method: endSession === undefined ? 'password' : 'oidc' } });
    return endSession ? reply.send({ endSession }) : reply.code(204).send();
  });

  app.get('/api/v1/auth/me', async (request) => {
    const me = auth.user(request);
    return { user: { id: me.id, name: me.name, admin: me.admin } };
  });

  app.get<{ Querystring: { return?: string } }>('/signin', async (request, reply) => {
    const raw = request.query.return;
    const ret = raw === undefined ? '/' : safeLocalPath(raw);
    if (ret === undefined) throw new ControlError('CTL_BAD_RETURN', 'return must be a path on this host');
    const form = `<form id="signin" class="signin-card" data-return="${escapeHtml(ret)}" method="post" action="/api/v1/auth/login">
<h1>Sign in to Wharf</h1>
${deps.sso ? `<a class="button primary" id="sso" href="/auth/oidc/start?return=${escapeHtml(encodeURIComponent(ret))}">Sign in with ${escapeHtml(deps.sso.name)}</a>
${deps.localPasswords === false ? '<p>Password sign-in is off. The break-glass admin account still signs in below.</p>' : '<p>Or with a Wharf account:</p>'}
` : ''}<label for="name">User name</label><input id="name" name="name" autocomplete="username" required${deps.sso ? '' : ' autofocus'}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p id="error" role="alert" aria-live="assertive"></p>
<button type="submit" class="${deps.sso ? '' : 'primary'}">Sign in</button>
</form>`;
    return ownPage(reply, dist, 'Sign in', form);
  });

  app.get('/signin.js', async (_request, reply) => reply
    .header('content-type', 'text/javascript; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(SIGNIN_SCRIPT));

  app.get<{ Querystring: { instance?: string; return?: string } }>('/auth/app', async (request, reply) => {
    const { instance, return: ret } = request.query;
    if (typeof instance !== 'string' || !INSTANCE_ID.test(instance)) throw new ControlError('CTL_INVALID', 'instance: must be an instance id');
    if (ret !== undefined && typeof ret !== 'string') throw new ControlError('CTL_BAD_RETURN', 'return is given more than once');
    const target = ret === undefined ? undefined : checkReturn(ret, instance, hosts);
    const signedIn = await auth.session(request);
    reply.header('cache-control', 'no-store');
    if (!signedIn) return reply.redirect(`/signin?return=${encodeURIComponent(request.url)}`, 303);
    const found = await instanceFor(store, signedIn.user, instance, 'user');
    const link = await tokens.browserLink({ sub: signedIn.user.id, instance: found.id }, clock());
    await audit(store, signedIn.user, 'app.token', { instance: found.id, detail: { purpose: 'browser' } });
    let location = link.url;
    if (target) {
      target.searchParams.delete('wharf_token');
      target.searchParams.set('wharf_token', link.token);
      target.hash = '';
      location = target.href;
    }
    return reply.redirect(location, 303);
  });
}

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import { ConsoleSessions } from '../keys/console-sessions.ts';
import { appBaseUrl, GatewayTokens, type AppHosts, type NotBefore } from '../keys/gateway-tokens.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { Clock, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import { visibleInstance } from './configs.ts';

/*
 * Dashboard sign-in (DESIGN.md "Tokens", issue 4 "Sign-in" and "Browser sign-in for apps"):
 *
 * - POST /api/v1/auth/login {name, password} sets `wharf_console` (HttpOnly, Secure,
 *   SameSite=Lax, Path=/, 12 h); POST /api/v1/auth/logout revokes and clears it;
 *   GET /api/v1/auth/me names the signed-in user.
 * - GET /signin?return=/path: a plain HTML form that logs in with fetch, then goes to `return`
 *   (a path on this host only). GET / is the dashboard (dashboard.ts).
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

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'none'; script-src 'self' 'unsafe-inline'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Wharf</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin-top:1rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}[role=alert]{color:#a00}</style>
</head><body><main>
${body}
</main></body></html>
`);
}

const SIGNIN_SCRIPT = `
const form = document.getElementById('signin');
const error = document.getElementById('error');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const data = new FormData(form);
  try {
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: data.get('name'), password: data.get('password') }),
    });
    if (!res.ok) {
      error.textContent = res.status === 401 ? 'Wrong user name or password.' : 'Sign-in failed (' + res.status + ').';
      return;
    }
    const ret = form.dataset.return;
    location.assign(ret && ret.startsWith('/') && !ret.startsWith('//') && !ret.startsWith('/\\\\') ? ret : '/');
  } catch {
    error.textContent = 'Wharf cannot be reached. Try again.';
  }
});
`;

/** Sign-in, sign-out, the sign-in page and the `/auth/app` hand-off to apps. */
export function signinRoutes(app: FastifyInstance, deps: SigninDeps): void {
  const { store, auth, keys, hosts, clock } = deps;
  const tokens = new GatewayTokens(keys, hosts, deps.notBefore);
  const sessions = () => {
    if (!auth.console) throw new ControlError('CTL_NOT_FOUND', 'dashboard sign-in is not enabled');
    return auth.console.sessions;
  };

  app.post('/api/v1/auth/login', async (request, reply) => {
    // Login CSRF: a browser's request from another site carries that site's Origin.
    if (request.headers.origin !== undefined) auth.checkOrigin(request);
    const body = parse(LoginRequest, request.body ?? {});
    const user = await store.users.verifyPassword(body.name, body.password);
    if (!user) throw new ControlError('CTL_BAD_LOGIN');
    const minted = sessions().mint(user.id);
    return reply.header('set-cookie', minted.setCookie).header('cache-control', 'no-store')
      .send({ user: { id: user.id, name: user.name, admin: user.admin }, expiresAt: new Date(minted.session.exp * 1000).toISOString() });
  });

  app.post('/api/v1/auth/logout', async (request, reply) => {
    const signedIn = await auth.session(request);
    if (signedIn) {
      auth.checkOrigin(request);
      sessions().revoke(signedIn.session);
    }
    return reply.code(204).header('set-cookie', ConsoleSessions.clearCookie()).send();
  });

  app.get('/api/v1/auth/me', async (request) => {
    const me = auth.user(request);
    return { user: { id: me.id, name: me.name, admin: me.admin } };
  });

  app.get<{ Querystring: { return?: string } }>('/signin', async (request, reply) => {
    const raw = request.query.return;
    const ret = raw === undefined ? '/' : safeLocalPath(raw);
    if (ret === undefined) throw new ControlError('CTL_BAD_RETURN', 'return must be a path on this host');
    return page(reply, 'Sign in', `<h1>Sign in to Wharf</h1>
<form id="signin" data-return="${escapeHtml(ret)}" method="post" action="/api/v1/auth/login">
<label for="name">User name</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p id="error" role="alert" aria-live="assertive"></p>
<button type="submit">Sign in</button>
</form>
<script>${SIGNIN_SCRIPT}</script>`);
  });

  app.get<{ Querystring: { instance?: string; return?: string } }>('/auth/app', async (request, reply) => {
    const { instance, return: ret } = request.query;
    if (typeof instance !== 'string' || !INSTANCE_ID.test(instance)) throw new ControlError('CTL_INVALID', 'instance: must be an instance id');
    if (ret !== undefined && typeof ret !== 'string') throw new ControlError('CTL_BAD_RETURN', 'return is given more than once');
    const target = ret === undefined ? undefined : checkReturn(ret, instance, hosts);
    const signedIn = await auth.session(request);
    reply.header('cache-control', 'no-store');
    if (!signedIn) return reply.redirect(`/signin?return=${encodeURIComponent(request.url)}`, 303);
    const found = await visibleInstance(store, signedIn.user, instance);
    const link = await tokens.browserLink({ sub: signedIn.user.id, instance: found.id }, clock());
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

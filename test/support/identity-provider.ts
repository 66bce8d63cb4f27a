// A real OpenID Connect identity provider for the sign-in tests: panva's oidc-provider (the
// certified OP library) over HTTPS on loopback, with one confidential client for the relying
// party under test and accounts the test creates, changes and disables while it runs. Tests
// talk to it as a browser and an RP would (discovery, the authorization code flow with PKCE,
// refresh, userinfo, RP-initiated logout), so what passes here is what a real IdP accepts.
//
// Sign-in uses oidc-provider's development login form (devInteractions): it takes any login
// name and ignores the password, which is all a test needs; the accounts set with setAccount
// decide who gets in. Consent is granted on the spot, as an IdP does for a first-party app.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error oidc-provider ships no type declarations (and @types/oidc-provider is not installed): it is `any` here.
import Provider, { interactionPolicy } from 'oidc-provider';
import { Agent, fetch } from 'undici';
import { createAuthority, issueCertificate } from '../../certs/authority.ts';
import { spkiHash } from './browser.ts';

/** A user at the identity provider. Its login name is its `sub` and `preferred_username`. */
export interface IdpAccount {
  /** The `groups` claim (profile scope), what Wharf maps to roles. */
  groups?: string[];
  /** The `email` claim (email scope), always with `email_verified: true`. */
  email?: string;
  /** The `name` claim (profile scope); the login name when absent. */
  name?: string;
  /** A disabled account cannot sign in, and its refresh tokens and access tokens stop working (invalid_grant, invalid_token). */
  disabled?: boolean;
}

export interface IdentityProvider {
  /** The issuer identifier exactly as discovery reports it: https://localhost:PORT, no trailing slash. */
  issuer: string;
  /** A PEM file of the CA that issued the IdP's certificate, for NODE_EXTRA_CA_CERTS of a child process. Removed by stop(). */
  caFile: string;
  caPem: string;
  /** Base64 SHA-256 of the served certificate's SubjectPublicKeyInfo, for launchBrowser's `trustSpki` (see browser.ts). */
  spki: string;
  /** The one registered client: confidential (client_secret_basic), authorization_code + refresh_token, PKCE required. */
  clientId: string;
  clientSecret: string;
  /** Creates or replaces the account whose login name (and `sub`) is `login`; changes take effect at the next token/userinfo/refresh. */
  setAccount(login: string, account: IdpAccount): void;
  /**
   * Signs `login` in at an authorization URL the RP made, like a browser would (following
   * redirects, submitting the dev login form, no consent screen), and returns the URL the IdP
   * finally redirects to on the RP (the RP's redirect_uri with code and state, or with an
   * OAuth error), without fetching it. Each call is a fresh browser: no IdP session carries
   * over from an earlier one. Throws with the IdP's page text when it refuses (an error page,
   * or the login form again for an unknown or disabled account).
   */
  signIn(authorizationUrl: string, login: string): Promise<string>;
  stop(): Promise<void>;
}

export interface IdentityProviderOptions {
  /** The RP's callback URL(s): the only redirect_uris the client may use. */
  redirectUris: string[];
  /** Where RP-initiated logout may send the browser back to. */
  postLogoutRedirectUris?: string[];
  /** Access token lifetime; default 5 s, short so that tests see the RP refresh. */
  accessTokenTtlS?: number;
}

// The parts of oidc-provider's API used here (the package ships no types).
interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface OidcContext {
  type: string;
  body: string;
  host: string;
  oidc: {
    client: { clientId: string; grantTypeAllowed(type: string): boolean };
    session: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    account?: { accountId: string };
    result?: { consent?: { grantId?: string } };
    requestParamOIDCScopes: Set<string>;
    requestParamClaims: Set<string>;
    provider: {
      Grant: { new (init: { clientId: string; accountId?: string }): OidcGrant; find(id: string): Promise<OidcGrant | undefined> };
    };
  };
}

/** Minimal HTML escaping for the few pages rendered here. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Undoes the entity escaping of oidc-provider's pages (attribute values, text). */
function unescapeHtml(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A page's readable text, for error messages. */
function pageText(html: string): string {
  const text = html.replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  return unescapeHtml(text).replace(/\s+/g, ' ').trim().slice(0, 2_000);
}

/** An HTML tag's attribute, or undefined. */
function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? unescapeHtml(m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The form that asks for `login` on a page (its action and hidden inputs), or undefined. */
function loginForm(html: string): { action: string; hidden: Record<string, string> } | undefined {
  for (const [, open, inner] of html.matchAll(/(<form\b[^>]*>)([\s\S]*?)<\/form>/gi)) {
    const inputs = [...inner.matchAll(/<input\b[^>]*>/gi)].map(([tag]) => tag);
    if (!inputs.some((tag) => attribute(tag, 'name') === 'login')) continue;
    const hidden: Record<string, string> = {};
    for (const tag of inputs) {
      const name = attribute(tag, 'name');
      if (name && attribute(tag, 'type')?.toLowerCase() === 'hidden') hidden[name] = attribute(tag, 'value') ?? '';
    }
    return { action: attribute(open, 'action') ?? '', hidden };
  }
  return undefined;
}

/**
 * Starts an identity provider on https://localhost:PORT (listening on 127.0.0.1) with one
 * client for the given redirect URIs and no accounts yet (see setAccount).
 */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-idp-'));
  const ca = createAuthority('Wharf test identity provider CA');
  const tls = issueCertificate(ca, { names: ['localhost', '127.0.0.1'] });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);

  // Listen first: the issuer (and so the port) must be known before the Provider exists, and a
  // port found free and bound later could be taken in between.
  const server = https.createServer({ cert: tls.cert, key: tls.key });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;

  const accounts = new Map<string, IdpAccount>();
  const clientId = 'wharf';
  const clientSecret = randomBytes(24).toString('base64url');
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  // The dev login form takes any name. One that findAccount does not know (or a disabled one)
  // must get the login form again, as a wrong password would: without this check the session
  // holds an account id without an account, and the consent check fails with server_error.
  const policy = interactionPolicy.base();
  policy.get('login').checks.push(new interactionPolicy.Check(
    'account_unavailable',
    'the account is unknown or disabled',
    'login_required',
    (ctx: OidcContext) => Boolean(ctx.oidc.session.accountId) && !ctx.oidc.account,
  ));

  const configuration = {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: options.redirectUris,
      post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
    }],
    responseTypes: ['code'],
    interactions: { policy },
    // oidc-provider 9 only requires PKCE of public clients by default; an RP that skipped it
    // would pass against it but not against IdPs that require it of everyone (as OAuth 2.1 does).
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: ['sub'],
      profile: ['preferred_username', 'name', 'groups'],
      email: ['email', 'email_verified'],
    },
    // By default an ID token issued next to an access token carries only `sub` (and what the
    // claims parameter asks for); scope claims go to userinfo. Many IdPs put them in the ID
    // token too, and an RP that reads `groups` from either must find them there.
    conformIdTokenClaims: false,
    // Called for every authorization, token, refresh and userinfo request: an account that is
    // gone or disabled fails them all (invalid_grant at refresh), and claims() reads the
    // account as it is at that moment.
    findAccount(_ctx: unknown, sub: string) {
      const found = accounts.get(sub);
      if (!found || found.disabled) return undefined;
      return {
        accountId: sub,
        claims() {
          const account = accounts.get(sub) ?? {};
          return {
            sub,
            preferred_username: sub,
            name: account.name ?? sub,
            groups: [...(account.groups ?? [])],
            ...(account.email === undefined ? {} : { email: account.email, email_verified: true }),
          };
        },
      };
    },
    // No consent screen: the signed-in user grants whatever the client asks for, like an IdP
    // that trusts a first-party app (the documented recipe, widened to any requested scope).
    async loadExistingGrant(ctx: OidcContext) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      const grant = (grantId ? await oidc.provider.Grant.find(grantId) : undefined)
        ?? new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
      if (oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    // A refresh token for every code exchange, without the offline_access scope that
    // oidc-provider otherwise asks for: Wharf's sessions refresh without it.
    issueRefreshToken(_ctx: unknown, client: OidcContext['oidc']['client']) {
      return client.grantTypeAllowed('refresh_token');
    },
    ttl: {
      AccessToken: options.accessTokenTtlS ?? 5,
      AuthorizationCode: 60,
      IdToken: 3_600,
      RefreshToken: 86_400,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey] },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The default pages, less their web font (loaded from Google) and the notice that
        // comes with the defaults.
        logoutSource(ctx: OidcContext, form: string) {
          ctx.type = 'html';
          ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign out</title></head><body>
<h1>Do you want to sign out from ${escapeHtml(ctx.host)}?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>
</body></html>`;
        },
        postLogoutSuccessSource(ctx: OidcContext) {
          ctx.type = 'html';
          ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1><p>You are signed out.</p></body></html>';
        },
      },
    },
    // Plain text errors, which signIn and failing tests can quote.
    renderError(ctx: OidcContext, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>Sign-in error</h1>
${Object.entries(out).map(([k, v]) => `<p>${escapeHtml(k)}: ${escapeHtml(String(v))}</p>`).join('\n')}
</body></html>`;
    },
    // Only server-side RPs here: no browser calls the token or userinfo endpoints cross-origin.
    clientBasedCORS: () => false,
  };

  // oidc-provider warns (once per Provider) that devInteractions and its in-memory store are
  // for development only: here both are the point, so those two lines are dropped. Any other
  // warning still shows.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const line = String(args[0]);
    if (line.includes('oidc-provider WARNING') && /devInteractions|in-memory adapter/.test(line)) return;
    warn.apply(console, args);
  };
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (err) {
    server.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    console.warn = warn;
  }
  // oidc-provider answers a failure of its own with a bare server_error: say what it was.
  provider.on('server_error', (_ctx: unknown, err: unknown) => console.error('identity provider server_error:', err));
  server.on('request', provider.callback());

  const agent = new Agent({ connect: { ca: ca.cert } });

  const signIn = async (authorizationUrl: string, login: string): Promise<string> => {
    const origin = new URL(issuer).origin;
    const jar = new Map<string, string>();
    let url = new URL(authorizationUrl);
    if (url.origin !== origin) throw new Error(`${authorizationUrl} is not at the identity provider (${issuer})`);
    let body: URLSearchParams | undefined;
    let forms = 0;
    for (let hop = 0; hop < 20; hop++) {
      const headers: Record<string, string> = {};
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(url, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual', dispatcher: agent });
      for (const cookie of res.headers.getSetCookie()) {
        const [pair, ...attributes] = cookie.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        const expires = attributes.map((a) => /^\s*expires=(.*)$/i.exec(a)?.[1]).find(Boolean);
        const gone = value === '' || /max-age=0\b/i.test(cookie) || (expires !== undefined && Date.parse(expires) <= Date.now());
        if (gone) jar.delete(name);
        else jar.set(name, value);
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, url);
        if (next.origin !== origin) return next.href;
        url = next;
        body = undefined;
        continue;
      }
      const html = await res.text();
      const form = res.status === 200 ? loginForm(html) : undefined;
      if (!form) throw new Error(`the identity provider refused to sign ${login} in (HTTP ${res.status} at ${url.pathname}): ${pageText(html)}`);
      // A second login form means the first login did not take: the account is unknown or disabled.
      if (forms++ > 0) throw new Error(`the identity provider asked ${login} to sign in again (unknown or disabled account?): ${pageText(html)}`);
      url = new URL(form.action, url);
      body = new URLSearchParams({ ...form.hidden, login, password: 'any password' });
    }
    throw new Error(`the identity provider redirected more than 20 times while signing ${login} in`);
  };

  return {
    issuer,
    caFile,
    caPem: ca.cert,
    spki: spkiHash(tls.cert),
    clientId,
    clientSecret,
    setAccount(login, account) {
      accounts.set(login, structuredClone(account));
    },
    signIn,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

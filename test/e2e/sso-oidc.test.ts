import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { startIdentityProvider, type IdentityProvider } from '../support/identity-provider.ts';
import { envLines, freePort, runWharf, until, type Running } from '../support/tcp.ts';

/*
 * Single sign-on against a real identity provider: oidc-provider on loopback over TLS
 * (test/support/identity-provider.ts), access tokens of 3 s so that refreshes come quickly.
 * Real processes: `wharf control` with WHARF_OIDC_* (trusting the IdP's CA through
 * NODE_EXTRA_CA_CERTS, as a user with a private CA would) behind a `wharf gateway` whose main
 * host is the public URL. A browser-like client with manual cookies, and headless Chromium
 * for the flow a person goes through.
 */
const TOKEN_TTL_S = 3;

describe('single sign-on through an OpenID Connect identity provider', () => {
  let home: string;
  let idp: IdentityProvider;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let port: number;
  let browser: Browser | undefined;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const origin = () => `https://localhost:${port}`;

  /** A browser's request through the gateway's main host: navigation headers unless told otherwise. */
  const browse = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> => request(port, {
    host: `localhost:${port}`, ca: gw!.ca, method, path, body,
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'none', ...headers },
  });
  /** A dashboard XHR with the sign-in cookie. */
  const xhr = (path: string, cookie: string, method = 'GET', body?: unknown) => browse(path, {
    cookie, accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'sec-fetch-site': 'same-origin',
    ...(method === 'GET' ? {} : { origin: origin() }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  }, method, body === undefined ? undefined : JSON.stringify(body));
  const cookieOf = (reply: Reply, name: string): string | undefined => reply.headers['set-cookie']?.find((c) => c.startsWith(`${name}=`))?.split(';')[0];

  /** The whole sign-in as `login`: start, the IdP, the callback. Returns the console cookie, or the callback's refusal. */
  const signIn = async (login: string, ret = '/instances'): Promise<{ cookie?: string; callback: Reply }> => {
    const start = await browse(`/auth/oidc/start?return=${encodeURIComponent(ret)}`);
    expect(start.status, start.body).toBe(303);
    const pending = cookieOf(start, 'wharf_oidc')!;
    expect(start.headers.location!.startsWith(`${idp.issuer}/`)).toBe(true);
    const back = new URL(await idp.signIn(start.headers.location!, login));
    expect(back.origin + back.pathname).toBe(`${origin()}/auth/oidc/callback`);
    const callback = await browse(back.pathname + back.search, { cookie: pending });
    return { cookie: cookieOf(callback, 'wharf_console'), callback };
  };
  const me = async (cookie: string) => (await xhr('/api/v1/auth/me', cookie));
  const audit = async (action: string) => JSON.parse((await runWharf(['audit', '--action', action, '--json'], env())).stdout) as { actor: string | null; target: string | null; detail: Record<string, unknown> }[];
  const afterTokenExpiry = () => new Promise((r) => setTimeout(r, TOKEN_TTL_S * 1000 + 500));

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-sso-e2e-'));
    port = await freePort();
    idp = await startIdentityProvider({
      redirectUris: [`https://localhost:${port}/auth/oidc/callback`],
      postLogoutRedirectUris: [`https://localhost:${port}/signin`],
      accessTokenTtlS: TOKEN_TTL_S,
    });
    writeFileSync(join(home, 'oidc-secret'), `${idp.clientSecret}\n`, { mode: 0o600 });
    const ssoEnv = {
      ...env(),
      NODE_EXTRA_CA_CERTS: idp.caFile,
      WHARF_OIDC_ISSUER: idp.issuer,
      WHARF_OIDC_CLIENT_ID: idp.clientId,
      WHARF_OIDC_CLIENT_SECRET_FILE: join(home, 'oidc-secret'),
      WHARF_OIDC_NAME: 'Test IdP',
      WHARF_OIDC_ADMIN_GROUPS: 'wharf-admins',
      WHARF_OIDC_PROJECT_GROUPS: 'ml-team=ml:user, ml-leads=ml:owner',
    };
    control = await startControlProcess(ssoEnv, ['--public-url', `${origin()}/`]);
    const url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code, added.stderr).toBe(0);
    gw = await startGateway({ env: envLines(added.stdout), args: ['--https-port', String(port), '--jwks', `${url}/.well-known/jwks.json`] });
    await until('the gateway serves control', async () => (await browse('/signin')).status === 200, 10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await control?.stop();
    await idp?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('offers the IdP on the sign-in page, and makes a user at the first sign-in whose groups make them admin and a project member', async () => {
    const page = await browse('/signin?return=/agents');
    expect(page.body).toContain('Sign in with Test IdP');
    expect(page.body).toContain('href="/auth/oidc/start?return=%2Fagents"');
    idp.setAccount('alice', { groups: ['wharf-admins'], email: 'alice@example.test' });
    idp.setAccount('bob', { groups: ['ml-team'] });

    const alice = await signIn('alice');
    expect(alice.callback.status, alice.callback.body).toBe(303);
    expect(alice.callback.headers.location).toBe('/instances');
    // The pending sign-in is used up.
    expect(alice.callback.headers['set-cookie']).toContainEqual(expect.stringMatching(/^wharf_oidc=; Path=\/auth\/oidc; Max-Age=0/));
    expect(JSON.parse((await me(alice.cookie!)).body).user).toMatchObject({ name: 'alice', admin: true });
    expect((await xhr('/api/v1/audit', alice.cookie!)).status).toBe(200);

    const bob = await signIn('bob');
    expect(JSON.parse((await me(bob.cookie!)).body).user).toMatchObject({ name: 'bob', admin: false });
    const projects = JSON.parse((await xhr('/api/v1/projects', bob.cookie!)).body) as { projects: { name: string; role: string | null }[] };
    expect(projects.projects.find((p) => p.name === 'ml')).toMatchObject({ role: 'user' });
    // A second sign-in is the same user, not a new one.
    const again = await signIn('bob');
    expect(JSON.parse((await me(again.cookie!)).body).user.id).toBe(JSON.parse((await me(bob.cookie!)).body).user.id);

    expect(await audit('signin')).toContainEqual(expect.objectContaining({ actor: 'alice', detail: { method: 'oidc' } }));
    expect(await audit('member.add')).toContainEqual(expect.objectContaining({ actor: 'single sign-on', target: 'bob', detail: expect.objectContaining({ project: 'ml', role: 'user' }) }));
  }, 60_000);

  it('takes a removed group\'s rights away at the next refresh, and refuses a disabled account with 401 JSON, never a redirect', async () => {
    idp.setAccount('dora', { groups: ['wharf-admins', 'ml-leads'] });
    idp.setAccount('erin', { groups: ['ml-team'] });
    const dora = (await signIn('dora')).cookie!;
    const erin = (await signIn('erin')).cookie!;
    expect(JSON.parse((await me(dora)).body).user.admin).toBe(true);

    idp.setAccount('dora', { groups: ['ml-team'] });
    idp.setAccount('erin', { groups: ['ml-team'], disabled: true });
    await afterTokenExpiry();
    // dora: still signed in, no longer an admin, a user of ml instead of its owner.
    const users = await xhr('/api/v1/audit', dora);
    expect(users.status, `${users.body}\n${control!.stderr()}`).toBe(403);
    expect(JSON.parse((await me(dora)).body).user.admin).toBe(false);
    const projects = JSON.parse((await xhr('/api/v1/projects', dora)).body) as { projects: { name: string; role: string | null }[] };
    expect(projects.projects.find((p) => p.name === 'ml')).toMatchObject({ role: 'user' });

    // erin: the refresh is refused, the session ends, and each kind of request is told so in JSON.
    const call = await xhr('/api/v1/instances', erin);
    expect(call.status).toBe(401);
    expect(call.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(call.body).error.code).toBe('CTL_UNAUTHENTICATED');
    const stream = await browse('/api/v1/instances?follow=1', { cookie: erin, accept: 'text/event-stream', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'sec-fetch-site': 'same-origin' });
    expect(stream.status).toBe(401);
    expect(stream.headers.location).toBeUndefined();
    expect(JSON.parse(stream.body).error.code).toBe('CTL_UNAUTHENTICATED');
    expect(await audit('signout')).toContainEqual(expect.objectContaining({ actor: 'single sign-on', target: 'erin', detail: expect.objectContaining({ reason: expect.stringContaining('invalid_grant') }) }));
    // And the IdP will not sign her in again.
    const start = await browse('/auth/oidc/start');
    await expect(idp.signIn(start.headers.location!, 'erin')).rejects.toThrow();
  }, 60_000);

  it('keeps a few pending sign-ins in one bounded cookie, and refuses an unknown state with a page that says why', async () => {
    idp.setAccount('fay', {});
    let pending = '';
    const urls: string[] = [];
    for (let n = 0; n < 8; n++) {
      const start = await browse('/auth/oidc/start', pending ? { cookie: pending } : {});
      pending = cookieOf(start, 'wharf_oidc')!;
      urls.push(start.headers.location!);
    }
    expect(pending.length).toBeLessThan(1500);
    // The oldest tab's sign-in was dropped; the newest still completes.
    const oldest = new URL(await idp.signIn(urls[0], 'fay'));
    const refused = await browse(oldest.pathname + oldest.search, { cookie: pending });
    expect(refused.status).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('This sign-in is unknown or took longer than 10 minutes');
    const newest = new URL(await idp.signIn(urls[7], 'fay'));
    const done = await browse(newest.pathname + newest.search, { cookie: pending });
    expect(done.status, done.body).toBe(303);
    expect(cookieOf(done, 'wharf_console')).toBeTruthy();
    // A callback without its cookie (another browser) is refused too.
    expect((await browse(newest.pathname + newest.search)).status).toBe(400);
  }, 60_000);

  it('signs out of Wharf and offers the IdP\'s end-session endpoint', async () => {
    idp.setAccount('gus', {});
    const gus = (await signIn('gus')).cookie!;
    const out = await xhr('/api/v1/auth/logout', gus, 'POST');
    expect(out.status, out.body).toBe(200);
    const end = new URL(JSON.parse(out.body).endSession as string);
    expect(end.origin + end.pathname).toBe(`${idp.issuer}/session/end`);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${origin()}/signin`);
    expect(end.searchParams.get('id_token_hint')).toBeTruthy();
    expect((await me(gus)).status).toBe(401);
    expect(await audit('signout')).toContainEqual(expect.objectContaining({ actor: 'gus', detail: { method: 'oidc' } }));
  }, 30_000);

  it('in Chromium: sign in with the IdP, groups make an admin and a project owner, sign out of both, a group removed takes effect at the refresh, the owner reads the project\'s audit log, a disabled account gets 401 on an XHR and cannot sign in', async () => {
    idp.setAccount('hana', { groups: ['wharf-admins', 'ml-leads'] });
    browser = await launchBrowser({ trustSpki: [await gatewaySpki(port, gw!.ca, 'localhost'), idp.spki] });
    const context = await browser.newContext();
    const page = await context.newPage();
    const idpLogin = async () => {
      await page.locator('input[name="login"]').fill('hana');
      await page.locator('input[name="password"]').fill('anything');
      await page.locator('button[type="submit"]').click();
    };
    await page.goto(`${origin()}/agents`);
    await page.waitForURL((u) => u.pathname === '/signin');
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL((u) => u.origin === idp.issuer);
    await idpLogin();
    await page.waitForURL(`${origin()}/agents`);
    await page.locator('#who').filter({ hasText: 'Signed in as hana (admin)' }).waitFor();

    // Sign out: out of Wharf, then the IdP's own sign-out, then back on the sign-in page.
    await page.locator('#signout').click();
    await page.waitForURL((u) => u.origin === idp.issuer);
    await page.getByRole('button', { name: /sign me out/i }).click();
    await page.waitForURL((u) => u.origin === origin() && u.pathname === '/signin');
    // The IdP's session ended too: signing in again asks for the login.
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await idpLogin();
    await page.locator('#who').filter({ hasText: 'Signed in as hana (admin)' }).waitFor();

    // Out of the admin group, still in ml-leads: after the refresh, an owner of ml and no admin.
    idp.setAccount('hana', { groups: ['ml-leads'] });
    await afterTokenExpiry();
    await page.goto(`${origin()}/projects`);
    await page.locator('tr[data-project="ml"][data-role="owner"]').waitFor();
    expect(await page.locator('#who').textContent()).toBe('Signed in as hana');
    // As its owner, she reads ml's audit log (not the whole one: that is for admins).
    expect(await page.locator('#nav a[data-page="audit"]').count()).toBe(0);
    await page.getByRole('link', { name: 'Audit log: ml' }).click();
    await page.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('project') === 'ml');
    await page.locator('#audit tr[data-action="member.add"]').first().waitFor();

    idp.setAccount('hana', { groups: ['ml-leads'], disabled: true });
    await afterTokenExpiry();
    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/v1/auth/me', { headers: { accept: 'application/json' } });
      return { status: res.status, redirected: res.redirected, type: res.headers.get('content-type'), body: await res.json() };
    });
    expect(answer).toMatchObject({ status: 401, redirected: false, type: expect.stringMatching(/^application\/json/), body: { error: { code: 'CTL_UNAUTHENTICATED' } } });
    // Signing in again: the IdP shows its login form again, and Wharf is never reached.
    await page.goto(`${origin()}/signin`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL((u) => u.origin === idp.issuer);
    await idpLogin();
    await page.locator('input[name="login"]').waitFor();
    expect(new URL(page.url()).origin).toBe(idp.issuer);
    await context.close();
  }, 90_000);

  it('refuses password sign-in when local passwords are off, except the break-glass admin', async () => {
    const other = mkdtempSync(join(tmpdir(), 'wharf-sso-off-'));
    const offEnv = { ...process.env, WHARF_HOME: other, WHARF_URL: '', WHARF_TOKEN: '', NODE_EXTRA_CA_CERTS: idp.caFile, WHARF_OIDC_ISSUER: idp.issuer, WHARF_OIDC_CLIENT_ID: idp.clientId, WHARF_OIDC_CLIENT_SECRET: idp.clientSecret, WHARF_LOCAL_PASSWORDS: 'off' };
    const off = await startControlProcess(offEnv);
    try {
      const url = (JSON.parse(readFileSync(join(other, 'run', 'control.json'), 'utf8')) as { url: string }).url;
      const token = readFileSync(join(other, 'admin.token'), 'utf8').trim();
      const added = await fetch(`${url}/api/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ivy', password: 'ivy-password-1' }) });
      expect(added.status).toBe(201);
      const login = (name: string, password: string) => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
      const refused = await login('ivy', 'ivy-password-1');
      expect(refused.status).toBe(403);
      expect((await refused.json()).error).toMatchObject({ code: 'CTL_PASSWORDS_OFF', message: expect.stringMatching(/^password sign-in is off here: sign in with localhost/) });
      expect((await login('admin', readFileSync(join(other, 'admin.password'), 'utf8').trim())).status).toBe(200);
      const signinPage = await (await fetch(`${url}/signin`)).text();
      expect(signinPage).toContain('Password sign-in is off. The break-glass admin account still signs in below.');
    } finally {
      await off.stop();
      rmSync(other, { recursive: true, force: true });
    }
    // And password sign-in still works where it is on (the control above): a local user.
    const local = await runWharf(['users', 'add', 'jo'], env(), 'jo-password-1\n');
    expect(local.code, local.stderr).toBe(0);
    const login = await browse('/api/v1/auth/login', { origin: origin(), 'content-type': 'application/json', accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'sec-fetch-site': 'same-origin' }, 'POST', JSON.stringify({ name: 'jo', password: 'jo-password-1' }));
    expect(login.status, login.body).toBe(200);
  }, 60_000);
});

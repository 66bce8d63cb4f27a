import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { freePort, envLines, runWharf, until, type Running } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * Real processes: `wharf control`, a `wharf gateway` fed by it (its main host routes to
 * control), and an app endpoint reported by this test acting as an agent. A browser-like client
 * (manual cookies) goes app → /auth/app → /signin → login → /auth/app → one-time link → app
 * cookie → the upstream; a cross-origin POST with the console cookie and a return outside the
 * apps domain are refused.
 */
describe('browser sign-in for apps through a gateway fed by control', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let upstream: Upstream;
  let url: string;
  let port: number;
  let adminToken: string;
  let id: string;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const main = () => `localhost:${port}`;
  const origin = () => `https://localhost:${port}`;

  const api = async (method: string, path: string, body?: unknown, auth = `Bearer ${adminToken}`) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  /** A browser's request: the host and path of an absolute https URL, HTML accepted. */
  const browse = (href: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> => {
    const u = new URL(href);
    return request(gw!.httpsPort, { host: u.host, ca: gw!.ca, method, path: u.pathname + u.search, body, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...headers } });
  };
  const cookieOf = (reply: Reply, name: string): string => {
    const all = reply.headers['set-cookie'] ?? [];
    const found = all.find((c) => c.startsWith(`${name}=`));
    if (!found) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
    return found.split(';')[0];
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-signin-e2e-'));
    upstream = await startUpstream();
    port = await freePort();
    const runFile = join(home, 'run', 'control.json');
    control = await startControlProcess(env(), ['--public-url', `https://localhost:${port}/`]);
    url = (JSON.parse(readFileSync(runFile, 'utf8')) as { url: string }).url;
    adminToken = readFileSync(join(home, 'admin.token'), 'utf8').trim();

    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code, added.stderr).toBe(0);
    const gwEnv = envLines(added.stdout);
    gw = await startGateway({ env: gwEnv, args: ['--https-port', String(port), '--jwks', `${url}/.well-known/jwks.json`] });
    expect(gw.httpsPort).toBe(port);

    const agentAdded = await runWharf(['agents', 'add', 'a1', '--queues', 'e2e'], env());
    expect(agentAdded.code, agentAdded.stderr).toBe(0);
    const lines = envLines(agentAdded.stdout);
    const agentAuth = `Bearer ${lines.WHARF_AGENT_KEY}:${lines.WHARF_AGENT_SECRET}`;
    const launched = await api('POST', '/api/v1/instances', { app: 'container', image: 'wharf/busybox:local', queue: 'e2e', routing: { mode: 'https', port: 8080 } });
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    id = launched.json.id as string;
    expect((await api('POST', '/api/v1/agent/heartbeat', {}, agentAuth)).status).toBe(200);
    expect((await api('POST', '/api/v1/agent/lease?wait=2000', undefined, agentAuth)).json).toMatchObject({ instance: id });
    const reported = await api('POST', `/api/v1/agent/instances/${id}/endpoint`, { host: '127.0.0.1', port: upstream.port }, agentAuth);
    expect(reported.status, JSON.stringify(reported.json)).toBe(200);
    const token = (await api('POST', `/api/v1/instances/${id}/token`, {})).json.token as string;
    await until('the gateway serves the route', async () => (await browse(`https://${id}.apps.localhost:${port}/`, { authorization: `Bearer ${token}` })).status === 200, 10_000);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await control?.stop();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('goes from no cookie through sign-in and /auth/app to the app cookie and the upstream', async () => {
    const app = `https://${id}.apps.localhost:${port}/hello?q=1`;
    const first = await browse(app);
    expect(first.status).toBe(303);
    const authApp = new URL(first.headers.location!);
    expect(authApp.origin).toBe(origin());
    expect(authApp.pathname).toBe('/auth/app');
    expect(authApp.searchParams.get('instance')).toBe(id);
    expect(authApp.searchParams.get('return')).toBe(app);
    // A program (no HTML) still gets the 401.
    expect((await request(gw!.httpsPort, { host: `${id}.apps.localhost:${port}`, ca: gw!.ca, path: '/hello', headers: { accept: 'application/json' } })).status).toBe(401);

    // The main host is control's: signed out, /auth/app sends the browser to sign in.
    const toSignin = await browse(authApp.href);
    expect(toSignin.status, toSignin.body).toBe(303);
    const signinUrl = new URL(toSignin.headers.location!, origin());
    expect(signinUrl.pathname).toBe('/signin');
    const signin = await browse(signinUrl.href);
    expect(signin.status).toBe(200);
    expect(signin.body).toContain('<form id="signin"');

    const password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    const login = await browse(`${origin()}/api/v1/auth/login`, { origin: origin(), 'content-type': 'application/json', accept: 'application/json' }, 'POST', JSON.stringify({ name: 'admin', password }));
    expect(login.status, login.body).toBe(200);
    const consoleCookie = cookieOf(login, 'wharf_console');

    const back = await browse(new URL(signinUrl.searchParams.get('return')!, origin()).href, { cookie: consoleCookie });
    expect(back.status, back.body).toBe(303);
    const link = new URL(back.headers.location!);
    expect(link.host).toBe(`${id}.apps.localhost:${port}`);
    expect(link.pathname).toBe('/hello');
    expect(link.searchParams.get('wharf_token')).toBeTruthy();

    const exchanged = await browse(link.href);
    expect(exchanged.status).toBe(303);
    expect(exchanged.headers.location).toBe('/hello?q=1');
    const appCookie = cookieOf(exchanged, '__Host-wharf_session');
    const served = await browse(app, { cookie: appCookie });
    expect(served.status, served.body).toBe(200);
    expect(JSON.parse(served.body)).toMatchObject({ url: '/hello?q=1' });
    expect(served.body).not.toContain('wharf_');

    // The cookie-authenticated API through the main host: same origin yes, another origin no.
    const same = await browse(`${origin()}/api/v1/instances/${id}/token`, { cookie: consoleCookie, origin: origin(), 'content-type': 'application/json' }, 'POST', '{}');
    expect(same.status, same.body).toBe(200);
    const cross = await browse(`${origin()}/api/v1/instances/${id}/token`, { cookie: consoleCookie, origin: 'https://evil.example', 'content-type': 'application/json' }, 'POST', '{}');
    expect(cross.status).toBe(403);
    // The gateway refuses it before control sees it (control's own Origin check stays behind it).
    expect(cross.headers['x-wharf-error']).toBe('GW_CROSS_SITE');
    // An app page on the same site as the dashboard, with Fetch Metadata: refused as well.
    const sibling = await browse(`${origin()}/api/v1/instances/${id}/token`, { cookie: consoleCookie, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'content-type': 'application/json' }, 'POST', '{}');
    expect(sibling.status).toBe(403);
    expect(sibling.headers['x-wharf-error']).toBe('GW_CROSS_SITE');

    // No open redirect.
    const evil = await browse(`${origin()}/auth/app?instance=${id}&return=${encodeURIComponent('https://evil.example/')}`, { cookie: consoleCookie });
    expect(evil.status).toBe(400);
    expect(evil.headers['x-wharf-error']).toBe('CTL_BAD_RETURN');
  });
});

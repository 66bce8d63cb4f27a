import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoOnce, openAppSocket } from '../support/app-websocket.ts';
import { callControl } from '../support/control-api.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request, type Reply } from '../support/https-client.ts';
import { envLines, freePort, runWharf, until, type Running } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * docs/sessions.md with real processes: one `wharf control` feeding two `wharf gateway`s, an
 * app endpoint reported by this test acting as an agent, and a user, alice, with her own
 * instance. Control hands both gateways one app cookie key and the revocations on the route
 * stream, and keeps the used one-time links:
 * - a cookie minted from a link on gateway 1 works on gateway 2;
 * - a link works once: refused on gateway 2, and on gateway 1 after it restarts;
 * - alice's password change, then her removal, make both gateways refuse her cookies and close
 *   her open WebSocket (and keep-alive connection), while a new sign-in after the change works;
 * - while control is down, a link is refused with GW_LINK_UNAVAILABLE; cookies still work.
 * The cookie key is never in a log or the admin port's /routes.
 */
describe('app sessions shared by the gateways of one control', () => {
  let home: string;
  let control: Running | undefined;
  let gw1: GatewayProcess | undefined;
  let gw2: GatewayProcess | undefined;
  let gw1Env: Record<string, string>;
  let upstream: Upstream;
  let url: string;
  let origin: string;
  let adminToken: string;
  let aliceToken: string;
  let id: string;
  const sockets: WebSocket[] = [];
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const host = () => `${id}.apps.localhost`;

  const api = (method: string, path: string, body?: unknown, auth = `Bearer ${adminToken}`, headers: Record<string, string> = {}) => callControl(url, method, path, body, auth, headers);
  /** A fresh one-time link token of alice's for her instance. */
  const link = async (): Promise<string> => {
    const res = await api('POST', `/api/v1/instances/${id}/token`, {}, `Bearer ${aliceToken}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return new URL(res.json.link as string).searchParams.get('wharf_token')!;
  };
  /** A program's request (JSON, no redirect to sign-in) to alice's app through `gw`. */
  const get = (gw: GatewayProcess, path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    request(gw.httpsPort, { host: host(), path, ca: gw.ca, headers: { accept: 'application/json', ...headers } });
  /** Exchanges a link on `gw` and returns the cookie (`name=value`). */
  const exchange = async (gw: GatewayProcess, token: string): Promise<string> => {
    const reply = await get(gw, `/?wharf_token=${token}`);
    expect(reply.status, reply.body).toBe(303);
    const set = [reply.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-wharf_session='));
    expect(set).toBeDefined();
    return set!.split(';')[0];
  };
  const expectRefused = (reply: Reply, status: number, code: string) => {
    expect(reply.status, reply.body).toBe(status);
    expect(reply.headers['x-wharf-error']).toBe(code);
    expect(reply.headers['x-upstream']).toBeUndefined();
  };
  /** Opens a WebSocket to alice's app through `gw` with `cookie`; resolves once open. */
  const openSocket = (gw: GatewayProcess, cookie: string) => openAppSocket(gw, host(), cookie, sockets);
  const echo = echoOnce;
  const closedSoon = (ws: WebSocket) => until('the WebSocket is closed by the gateway', () => ws.readyState === WebSocket.CLOSED, 5_000);
  /** A keep-alive HTTPS connection to alice's app through `gw` that has served one request with `cookie`. */
  const keepAlive = async (gw: GatewayProcess, cookie: string): Promise<{ closed: () => boolean }> => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: host(), ca: gw.ca });
    let closed = false;
    let text = '';
    socket.on('close', () => { closed = true; });
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.write(`GET /kept HTTP/1.1\r\nHost: ${host()}\r\nAccept: application/json\r\nCookie: ${cookie}\r\nConnection: keep-alive\r\n\r\n`);
    await until('the keep-alive answer', () => text.includes('"url":"/kept"'), 5_000);
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(closed).toBe(false);
    return { closed: () => closed };
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-sessions-e2e-'));
    upstream = await startUpstream();
    const port = await freePort();
    origin = `https://localhost:${port}`;
    control = await startControlProcess(env(), ['--public-url', `${origin}/`]);
    url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    adminToken = readFileSync(join(home, 'admin.token'), 'utf8').trim();

    const [g1, g2] = await Promise.all([runWharf(['gateways', 'add', 'g1'], env()), runWharf(['gateways', 'add', 'g2'], env())]);
    expect(g1.code, g1.stderr).toBe(0);
    expect(g2.code, g2.stderr).toBe(0);
    gw1Env = envLines(g1.stdout);
    [gw1, gw2] = await Promise.all([startGateway({ env: gw1Env }), startGateway({ env: envLines(g2.stdout) })]);

    // alice: a user of her own, signed in once to make an API token.
    expect((await api('POST', '/api/v1/users', { name: 'alice', password: 'alice-password-1' })).status).toBe(201);
    const login = await api('POST', '/api/v1/auth/login', { name: 'alice', password: 'alice-password-1' }, '');
    expect(login.status).toBe(200);
    const consoleCookie = login.headers.get('set-cookie')!.split(';')[0];
    const created = await api('POST', '/api/v1/tokens', { name: 'e2e' }, '', { cookie: consoleCookie, origin });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    aliceToken = created.json.token as string;

    // Her instance, served by this test acting as an agent.
    const agentAdded = await runWharf(['agents', 'add', 'a1', '--queues', 'e2e-sessions'], env());
    expect(agentAdded.code, agentAdded.stderr).toBe(0);
    const lines = envLines(agentAdded.stdout);
    const agentAuth = `Bearer ${lines.WHARF_AGENT_KEY}:${lines.WHARF_AGENT_SECRET}`;
    const launched = await api('POST', '/api/v1/instances', { app: 'container', image: 'wharf/busybox:local', queue: 'e2e-sessions', routing: { mode: 'https', port: 8080 } }, `Bearer ${aliceToken}`);
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    id = launched.json.id as string;
    expect((await api('POST', '/api/v1/agent/heartbeat', {}, agentAuth)).status).toBe(200);
    expect((await api('POST', '/api/v1/agent/lease?wait=2000', undefined, agentAuth)).json).toMatchObject({ instance: id });
    expect((await api('POST', `/api/v1/agent/instances/${id}/endpoint`, { host: '127.0.0.1', port: upstream.port }, agentAuth)).status).toBe(200);
    const bearer = (await api('POST', `/api/v1/instances/${id}/token`, {}, `Bearer ${aliceToken}`)).json.token as string;
    for (const gw of [gw1, gw2]) await until('the gateway serves alice\'s app', async () => (await get(gw, '/', { authorization: `Bearer ${bearer}` })).status === 200, 10_000);
  }, 90_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await gw1?.stop();
    await gw2?.stop();
    await control?.stop();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('accepts on gateway 2 the cookie a link was exchanged for on gateway 1', async () => {
    const cookie = await exchange(gw1!, await link());
    for (const gw of [gw1!, gw2!]) {
      const served = await get(gw, '/hello', { cookie });
      expect(served.status, served.body).toBe(200);
      expect(JSON.parse(served.body)).toMatchObject({ url: '/hello' });
    }
  });

  it('takes a link once across gateways and restarts: refused on gateway 2, and on gateway 1 after it restarts', async () => {
    const token = await link();
    await exchange(gw1!, token);
    expectRefused(await get(gw2!, `/?wharf_token=${token}`), 401, 'GW_LINK_USED');
    expectRefused(await get(gw1!, `/?wharf_token=${token}`), 401, 'GW_LINK_USED');
    const gwHome = gw1!.home;
    await gw1!.stop();
    gw1 = await startGateway({ home: gwHome, env: gw1Env });
    expectRefused(await get(gw1, `/?wharf_token=${token}`), 401, 'GW_LINK_USED');
    // A fresh link still works on the restarted gateway.
    const cookie = await exchange(gw1, await link());
    expect((await get(gw2!, '/', { cookie })).status).toBe(200);
  }, 30_000);

  it('refuses alice\'s cookies on both gateways and closes her WebSocket after her password change; a new sign-in works', async () => {
    const cookie = await exchange(gw1!, await link());
    const ws = await openSocket(gw2!, cookie);
    expect(await echo(ws, 'before')).toBe('before');
    const kept = await keepAlive(gw1!, cookie);

    const changed = await api('POST', '/api/v1/users/alice/password', { password: 'alice-password-2', currentPassword: 'alice-password-1' }, `Bearer ${aliceToken}`);
    expect(changed.status, JSON.stringify(changed.json)).toBe(204);
    for (const gw of [gw1!, gw2!]) {
      await until('the gateway refuses the old cookie', async () => (await get(gw, '/', { cookie })).status === 401, 5_000);
      expectRefused(await get(gw, '/', { cookie }), 401, 'GW_AUTH_EXPIRED');
    }
    await closedSoon(ws);
    await until('the keep-alive connection is closed by the gateway', kept.closed, 5_000);

    // Signing in again (a link made right after the change, maybe in the same second) works everywhere.
    const fresh = await exchange(gw2!, await link());
    for (const gw of [gw1!, gw2!]) expect((await get(gw, '/', { cookie: fresh })).status).toBe(200);
    const again = await openSocket(gw1!, fresh);
    expect(await echo(again, 'after')).toBe('after');
    again.close();
  }, 30_000);

  it('refuses a removed user\'s cookies on both gateways and closes her WebSocket', async () => {
    const cookie = await exchange(gw2!, await link());
    const ws = await openSocket(gw1!, cookie);
    expect(await echo(ws, 'still here')).toBe('still here');
    const removed = await runWharf(['users', 'rm', 'alice'], env());
    expect(removed.code, removed.stderr).toBe(0);
    for (const gw of [gw1!, gw2!]) {
      await until('the gateway refuses the removed user\'s cookie', async () => (await get(gw, '/', { cookie })).status === 401, 5_000);
      expectRefused(await get(gw, '/', { cookie }), 401, 'GW_AUTH_EXPIRED');
    }
    await closedSoon(ws);
    // Her API token went with her: no new links.
    expect((await api('POST', `/api/v1/instances/${id}/token`, {}, `Bearer ${aliceToken}`)).status).toBe(401);
  }, 30_000);

  it('never shows the cookie key in a log, the route stream\'s errors or /routes', async () => {
    // The key as control keeps it, in its store.
    const db = new DatabaseSync(join(home, 'wharf.db'), { readOnly: true });
    const key = (db.prepare("SELECT value FROM shared_keys WHERE name = 'app-session'").get() as { value: string }).value;
    db.close();
    expect(key.length).toBeGreaterThanOrEqual(43);
    for (const gw of [gw1!, gw2!]) {
      expect(gw.output()).not.toContain(key);
      const routes = await plainGet(gw.adminPort, '/routes');
      expect(routes.status).toBe(200);
      expect(routes.body).not.toContain(key);
    }
    expect(control!.stdout() + control!.stderr()).not.toContain(key);
  });

  it('refuses links with GW_LINK_UNAVAILABLE while control is down, and keeps serving cookies', async () => {
    // alice is gone: the admin, who sees every instance, makes the links.
    const adminLink = async () => new URL((await api('POST', `/api/v1/instances/${id}/token`, {})).json.link as string).searchParams.get('wharf_token')!;
    const cookie = await exchange(gw1!, await adminLink());
    const unused = await adminLink();
    await control!.stop();
    control = undefined;
    const refused = await get(gw1!, `/?wharf_token=${unused}`);
    expectRefused(refused, 503, 'GW_LINK_UNAVAILABLE');
    expect(JSON.parse(refused.body).error.message).toMatch(/control/i);
    // A browser gets a page a person can read.
    const page = await request(gw2!.httpsPort, { host: host(), path: `/?wharf_token=${unused}`, ca: gw2!.ca, headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('Cannot check the link');
    for (const gw of [gw1!, gw2!]) expect((await get(gw, '/', { cookie })).status).toBe(200);
  }, 30_000);
});

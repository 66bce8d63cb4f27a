import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoOnce, openAppSocket } from '../support/app-websocket.ts';
import { callControl } from '../support/control-api.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { connectTcp, envLines, runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * Sharing one instance, and a project's members (issue 18), with real processes: a `wharf control`, a `wharf gateway`, the
 * real CLI, and an app endpoint reported by this test acting as the agent. alice owns the
 * instance; she shares it with bob (`wharf share`), first as viewer (he sees it, cannot open it),
 * then as user (he opens it through the gateway and holds a WebSocket); carol, with no share,
 * cannot even see it. Revoking the share closes bob's WebSocket and refuses his cookie. The same
 * through a project: bob, a user of it, opens alice's app there until he is removed from it.
 */
describe('sharing an instance', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let upstream: Upstream;
  let url: string;
  let adminToken: string;
  const tokens: Record<string, string> = {};
  let id: string;
  const sockets: WebSocket[] = [];
  const env = (token = '') => ({ ...process.env, WHARF_HOME: home, WHARF_URL: token ? url : '', WHARF_TOKEN: token });
  const host = () => `${id}.apps.localhost`;

  const api = (method: string, path: string, body?: unknown, auth = `Bearer ${adminToken}`, headers: Record<string, string> = {}) => callControl(url, method, path, body, auth, headers);
  /** A user with an API token of their own (signed in once to make it). */
  const addUser = async (name: string, origin: string) => {
    expect((await api('POST', '/api/v1/users', { name, password: `${name}-password-1` })).status).toBe(201);
    const login = await api('POST', '/api/v1/auth/login', { name, password: `${name}-password-1` }, '');
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const created = await api('POST', '/api/v1/tokens', { name: 'e2e' }, '', { cookie, origin });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    tokens[name] = created.json.token as string;
  };
  const as = (name: string) => `Bearer ${tokens[name]}`;
  const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    request(gw!.httpsPort, { host: host(), path, ca: gw!.ca, headers: { accept: 'application/json', ...headers } });
  /** bob's one-time link for the instance, exchanged at the gateway for an app cookie. */
  const cookieOf = async (name: string): Promise<string> => {
    const issued = await api('POST', `/api/v1/instances/${id}/token`, {}, as(name));
    expect(issued.status, JSON.stringify(issued.json)).toBe(200);
    const reply = await get(`/?wharf_token=${new URL(issued.json.link as string).searchParams.get('wharf_token')}`);
    expect(reply.status, reply.body).toBe(303);
    return [reply.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-wharf_session='))!.split(';')[0];
  };
  const openSocket = (cookie: string) => openAppSocket(gw!, host(), cookie, sockets);
  const echo = echoOnce;
  const share = async (...args: string[]) => {
    const out = await runWharf(['share', id, ...args], env(tokens.alice));
    expect(out.code, out.stderr).toBe(0);
    return out.stdout;
  };

  let agentAuth: string;
  /** An instance of `owner`'s in `project`, served by this test acting as its agent: its id, once the gateway serves it. */
  const serve = async (owner: string, project: string, tcp = false): Promise<string> => {
    const routing = tcp ? { mode: 'tcp', port: 8080 } : { mode: 'https', port: 8080 };
    const launched = await api('POST', '/api/v1/instances', { app: 'container', image: 'wharf/busybox:local', project, queue: 'e2e-sharing', routing }, as(owner));
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    const served = launched.json.id as string;
    expect((await api('POST', '/api/v1/agent/heartbeat', {}, agentAuth)).status).toBe(200);
    expect((await api('POST', '/api/v1/agent/lease?wait=2000', undefined, agentAuth)).json).toMatchObject({ instance: served });
    expect((await api('POST', `/api/v1/agent/instances/${served}/endpoint`, { host: '127.0.0.1', port: upstream.port }, agentAuth)).status).toBe(200);
    if (tcp) return served;
    const bearer = (await api('POST', `/api/v1/instances/${served}/token`, {}, as(owner))).json.token as string;
    const reply = () => request(gw!.httpsPort, { host: `${served}.apps.localhost`, path: '/', ca: gw!.ca, headers: { accept: 'application/json', authorization: `Bearer ${bearer}` } });
    await until(`the gateway serves ${owner}'s app`, async () => (await reply()).status === 200, 10_000);
    return served;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-sharing-e2e-'));
    upstream = await startUpstream();
    control = await startControlProcess(env(), ['--public-url', 'https://localhost:8443/']);
    url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    adminToken = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code, added.stderr).toBe(0);
    gw = await startGateway({ env: envLines(added.stdout) });
    for (const name of ['alice', 'bob', 'carol']) await addUser(name, 'https://localhost:8443');

    const agent = envLines((await runWharf(['agents', 'add', 'a1', '--queues', 'e2e-sharing'], env())).stdout);
    agentAuth = `Bearer ${agent.WHARF_AGENT_KEY}:${agent.WHARF_AGENT_SECRET}`;
    id = await serve('alice', 'Apps');
  }, 90_000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await gw?.stop();
    await control?.stop();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('keeps an unshared instance from everyone but its owner and admins', async () => {
    for (const name of ['bob', 'carol']) {
      expect((await api('GET', `/api/v1/instances/${id}`, undefined, as(name))).status, name).toBe(404);
      expect((await api('POST', `/api/v1/instances/${id}/token`, {}, as(name))).status, name).toBe(404);
      const connect = await runWharf(['connect', id], env(tokens[name]));
      expect(connect.code, name).not.toBe(0);
      expect(connect.stderr, name).toContain('CTL_NOT_FOUND');
    }
    expect((await api('GET', `/api/v1/instances/${id}`)).status).toBe(200);
  });

  it('as viewer, bob sees the instance and its console, but gets no token or link', async () => {
    expect(await share('bob', '--role', 'viewer')).toContain(`shared with bob as viewer`);
    const listed = await runWharf(['ls', '--json'], env(tokens.bob));
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((i) => i.id)).toEqual([id]);
    expect((await api('GET', `/api/v1/instances/${id}/console`, undefined, as('bob'))).status).toBe(200);
    const token = await api('POST', `/api/v1/instances/${id}/token`, {}, as('bob'));
    expect(token.status).toBe(403);
    expect(token.json.error.message).toContain(`you are a viewer of instance "${id}"`);
    // Nor may he share it on, or stop it.
    expect((await api('POST', `/api/v1/instances/${id}/shares`, { user: 'carol' }, as('bob'))).status).toBe(403);
    expect((await api('POST', `/api/v1/instances/${id}/stop`, undefined, as('bob'))).status).toBe(403);
    expect((await api('GET', `/api/v1/instances/${id}`, undefined, as('carol'))).status).toBe(404);
  });

  it('as user, bob opens the app through the gateway; revoking the share closes his WebSocket and refuses his cookie', async () => {
    expect(await share('bob')).toContain('shared with bob as user');
    const listed = JSON.parse(await share('--json')) as { user: string; role: string; by: string }[];
    expect(listed).toMatchObject([{ user: 'bob', role: 'user', by: 'alice' }]);
    const cookie = await cookieOf('bob');
    expect((await get('/', { cookie })).status).toBe(200);
    const ws = await openSocket(cookie);
    expect(await echo(ws, 'hello from bob')).toBe('hello from bob');

    expect(await share('bob', '--revoke')).toContain('no longer shared with bob');
    await until('the gateway closes bob\'s WebSocket', () => ws.readyState === WebSocket.CLOSED, 5_000);
    const refused = await get('/', { cookie });
    expect(refused.status, refused.body).toBe(401);
    expect(refused.headers['x-wharf-error']).toBe('GW_AUTH_EXPIRED');
    expect((await api('GET', `/api/v1/instances/${id}`, undefined, as('bob'))).status).toBe(404);
    // alice's own sessions are untouched.
    expect((await get('/', { cookie: await cookieOf('alice') })).status).toBe(200);
    const again = await runWharf(['share', id, 'bob', '--revoke'], env(tokens.alice));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is not shared with "bob"');
  });

  it('in a project, a user member opens another member\'s app; a stranger cannot; removing the membership closes his WebSocket', async () => {
    const projects = async (args: string[], token = tokens.alice) => {
      const out = await runWharf(['projects', ...args], token ? env(token) : env());
      expect(out.code, out.stderr).toBe(0);
      return out.stdout;
    };
    await projects(['add', 'Team', '--owner', 'alice'], '');
    expect(await projects(['members', 'add', 'Team', 'bob'])).toContain('bob is a user of Team');
    id = await serve('alice', 'Team');
    // carol, in no project, neither sees it nor gets a token or a tunnel.
    expect((await api('GET', `/api/v1/instances/${id}`, undefined, as('carol'))).status).toBe(404);
    expect((await api('POST', `/api/v1/instances/${id}/token`, {}, as('carol'))).status).toBe(404);
    const tunnel = await runWharf(['connect', id], env(tokens.carol));
    expect(tunnel.code).not.toBe(0);
    expect(tunnel.stderr).toContain('CTL_NOT_FOUND');
    // bob, a user of Team, lists it, opens it and holds a WebSocket.
    expect((JSON.parse((await runWharf(['ls', '--project', 'Team', '--json'], env(tokens.bob))).stdout) as { id: string }[]).map((i) => i.id)).toEqual([id]);
    const cookie = await cookieOf('bob');
    const ws = await openSocket(cookie);
    expect(await echo(ws, 'team work')).toBe('team work');
    // A member who is not its owner manages no one.
    expect((await runWharf(['projects', 'members', 'add', 'Team', 'carol'], env(tokens.bob))).stderr).toContain('CTL_FORBIDDEN');

    expect(await projects(['members', 'rm', 'Team', 'bob'])).toContain('no longer a member of Team');
    await until('the gateway closes bob\'s WebSocket', () => ws.readyState === WebSocket.CLOSED, 5_000);
    expect((await get('/', { cookie })).status).toBe(401);
    expect((await api('POST', `/api/v1/instances/${id}/token`, {}, as('bob'))).status).toBe(404);
  });

  it('app tokens and tunnels × callers: each gets a gateway token and a working `wharf connect` tunnel only with the right to use the app', async () => {
    // alice's TCP app in project Ops; a viewer and a user by share, a viewer, a user and an
    // owner of Ops, carol (none of these), the admin.
    for (const name of ['vic', 'ugo', 'pia', 'pam', 'pat']) await addUser(name, 'https://localhost:8443');
    const projects = async (args: string[]) => expect((await runWharf(['projects', ...args], env())).code).toBe(0);
    await projects(['add', 'Ops', '--owner', 'pat']);
    for (const [name, role] of [['alice', 'user'], ['pia', 'viewer'], ['pam', 'user']]) await projects(['members', 'add', 'Ops', name, '--role', role]);
    const app = await serve('alice', 'Ops', true);
    for (const [name, role] of [['vic', 'viewer'], ['ugo', 'user']]) expect((await runWharf(['share', app, name, '--role', role], env(tokens.alice))).code).toBe(0);
    tokens.admin = adminToken;
    const caFile = join(home, 'gateway-ca.pem');
    writeFileSync(caFile, gw!.ca);

    type Answer = 'ok' | 'CTL_FORBIDDEN' | 'CTL_NOT_FOUND';
    const MATRIX: Record<string, Answer> = {
      alice: 'ok', vic: 'CTL_FORBIDDEN', ugo: 'ok', pia: 'CTL_FORBIDDEN', pam: 'ok', pat: 'ok', carol: 'CTL_NOT_FOUND', admin: 'ok',
    };
    /** `wharf token`: a gateway token for the app, or the refusal's code. */
    const token = async (name: string): Promise<Answer> => {
      const out = await runWharf(['token', app], env(tokens[name]));
      return out.code === 0 ? 'ok' : (/CTL_[A-Z_]+/.exec(out.stderr)?.[0] as Answer);
    };
    /** `wharf connect`: a request carried through the tunnel to the app and its answer read, or the refusal's code. */
    const connect = async (name: string): Promise<Answer> => {
      const proc = spawnCollect(process.execPath, [WHARF, 'connect', app, '--port', '0', '--gateway', `https://localhost:${gw!.httpsPort}`, '--ca', caFile], env(tokens[name]));
      try {
        const listening = /^wharf connect: 127\.0\.0\.1:(\d+) → /m;
        await until(`wharf connect for ${name} listens or exits`, () => listening.test(proc.stdout()) || proc.child.exitCode !== null, 10_000);
        const port = listening.exec(proc.stdout())?.[1];
        if (!port) return (/CTL_[A-Z_]+/.exec(proc.stderr())?.[0] ?? proc.stderr()) as Answer;
        const socket = await connectTcp(Number(port));
        const answer = await new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (d: Buffer) => { text += d.toString(); });
          socket.on('close', () => resolve(text));
          socket.end('GET /through-the-tunnel HTTP/1.0\r\nHost: app\r\n\r\n');
        });
        return answer.startsWith('HTTP/1.1 200') && answer.includes('/through-the-tunnel') ? 'ok' : `no answer through the tunnel: ${answer.slice(0, 200)} ${proc.stderr()}` as Answer;
      } finally {
        await proc.stop();
      }
    };
    let first: Answer | undefined;
    try {
      await until('the gateway carries the tunnel', async () => (first = await connect('alice')) === 'ok', 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${first}`);
    }
    const tokensGot: Record<string, Answer> = {};
    const tunnels: Record<string, Answer> = {};
    for (const name of Object.keys(MATRIX)) {
      tokensGot[name] = await token(name);
      tunnels[name] = await connect(name);
    }
    expect(tokensGot).toEqual(MATRIX);
    expect(tunnels).toEqual(MATRIX);
  }, 120_000);
});

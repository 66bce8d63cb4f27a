import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { envLines, runWharf, until, type Running } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * Real processes: `wharf control` on port 0, a `wharf gateway` fed by it, and this test acting
 * as an agent over control's real HTTP API. An endpoint the "agent" reports becomes a route
 * the gateway serves; a token for another instance is refused; stop drops the route.
 */
describe('an agent\'s endpoint becomes a live route in a gateway fed by control', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let upstream: Upstream;
  let url: string;
  let adminToken: string;
  let agentAuth: string;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });

  const api = async (method: string, path: string, body?: unknown, auth = `Bearer ${adminToken}`) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const agent = (method: string, path: string, body?: unknown) => api(method, `/api/v1/agent/${path}`, body, agentAuth);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-agent-e2e-'));
    upstream = await startUpstream();
    const runFile = join(home, 'run', 'control.json');
    control = await startControlProcess(env());
    url = (JSON.parse(readFileSync(runFile, 'utf8')) as { url: string }).url;
    adminToken = readFileSync(join(home, 'admin.token'), 'utf8').trim();

    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code, added.stderr).toBe(0);
    const gwEnv = envLines(added.stdout);
    // No --jwks: a gateway fed by control checks tokens against control's JWKS by default.
    gw = await startGateway({ env: gwEnv });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await control?.stop();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('adds an agent with `wharf agents add` and lists it', async () => {
    const added = await runWharf(['agents', 'add', 'a1', '--queues', 'e2e,default'], env());
    expect(added.code, added.stderr).toBe(0);
    const lines = envLines(added.stdout);
    expect(Object.keys(lines)).toEqual(['WHARF_CONTROL_URL', 'WHARF_AGENT_KEY', 'WHARF_AGENT_SECRET', 'WHARF_QUEUES']);
    expect(lines.WHARF_CONTROL_URL).toBe(url);
    expect(lines.WHARF_QUEUES).toBe('e2e,default');
    agentAuth = `Bearer ${lines.WHARF_AGENT_KEY}:${lines.WHARF_AGENT_SECRET}`;
    expect((await agent('POST', 'heartbeat', { resources: { cpus: 2 } })).status).toBe(200);
    const ls = await runWharf(['agents', 'ls', '--json'], env());
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toMatchObject([{ name: 'a1', state: 'online', queues: ['e2e', 'default'], resources: { cpus: 2 } }]);
  });

  it('serves a reported endpoint, refuses another instance\'s token, and drops the route after stop', async () => {
    const config = { app: 'container', image: 'wharf/busybox:local', queue: 'e2e', routing: { mode: 'https', port: 8080 } };
    const launched = await api('POST', '/api/v1/instances', config);
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    const id = launched.json.id as string;
    const other = (await api('POST', '/api/v1/instances', { ...config, queue: 'elsewhere' })).json.id as string;

    const lease = await agent('POST', 'lease?wait=2000');
    expect(lease.status).toBe(200);
    expect(lease.json).toMatchObject({ instance: id, queue: 'e2e' });
    const reported = await agent('POST', `instances/${id}/endpoint`, { host: '127.0.0.1', port: upstream.port });
    expect(reported.status, JSON.stringify(reported.json)).toBe(200);
    expect(reported.json).toMatchObject({ status: 'active', route: { id, kind: 'http', target: upstream.url } });

    const token = (await api('POST', `/api/v1/instances/${id}/token`, {})).json.token as string;
    const otherToken = (await api('POST', `/api/v1/instances/${other}/token`, {})).json.token as string;
    const get = (bearer?: string) => request(gw!.httpsPort, {
      host: `${id}.apps.localhost`, ca: gw!.ca, path: '/hello', headers: bearer ? { authorization: `Bearer ${bearer}`, accept: 'application/json' } : { accept: 'application/json' },
    });
    await until('the gateway serves the route', async () => (await get(token)).status === 200, 10_000);
    const served = await get(token);
    expect(JSON.parse(served.body)).toMatchObject({ url: '/hello' });
    expect(served.body).not.toContain(token); // the token is not forwarded upstream
    expect((await get(otherToken)).status).toBe(403);
    expect((await get()).status).toBe(401);

    const stopped = await api('POST', `/api/v1/instances/${id}/stop`);
    expect(stopped.json.status).toBe('stopping');
    expect((await agent('POST', 'heartbeat', {})).json.stop).toEqual([id]);
    expect((await agent('POST', `instances/${id}/status`, { status: 'stopped' })).json.status).toBe('stopped');
    await until('the gateway drops the route', async () => (await get(token)).status === 404, 10_000);
    expect((await api('GET', `/api/v1/instances/${id}`)).json.status).toBe('stopped');
  });
});

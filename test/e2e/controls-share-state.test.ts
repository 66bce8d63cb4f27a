import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { envLines, runWharf, until, type Running } from '../support/tcp.ts';

// Two real `wharf control` processes on one PostgreSQL, each with a WHARF_HOME of its own (so
// nothing is shared through files): they start together on the empty database, and then share
// users, tokens, instances, the dashboard's sign-ins and the token signing keys; and a route an
// agent reports to one reaches the gateways that follow the other.
describe('two controls on one PostgreSQL share what users hold', () => {
  let postgres: Postgres;
  let store: string;
  const homes: string[] = [];
  const controls: Running[] = [];
  let gateway: GatewayProcess | undefined;
  const env = (i: number, extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: homes[i], WHARF_URL: '', WHARF_TOKEN: '', WHARF_STORE: store, ...extra });
  const url = (i: number) => (JSON.parse(readFileSync(join(homes[i], 'run', 'control.json'), 'utf8')) as { url: string }).url;
  const ok = async (i: number, args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = await runWharf(args, env(i, extra));
    expect(r.code, `wharf ${args.join(' ')} on control ${i}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const kids = async (i: number) => ((await (await fetch(`${url(i)}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) homes.push(mkdtempSync(join(tmpdir(), `wharf-control-${i}-`)));
    controls.push(...(await Promise.all(homes.map((_, i) => startControlProcess(env(i))))));
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(controls.map((c) => c.stop()));
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('start together on an empty database: one admin, a token in each home that works on both', async () => {
    const users = JSON.parse(await ok(0, ['users', 'ls', '--json'])) as { name: string }[];
    expect(users.map((u) => u.name)).toEqual(['admin']);
    // Exactly one of them made the admin, and holds its password.
    expect(homes.filter((h) => existsSync(join(h, 'admin.password')))).toHaveLength(1);
    for (const i of [0, 1]) {
      const token = readFileSync(join(homes[i], 'admin.token'), 'utf8').trim();
      for (const j of [0, 1]) expect((await fetch(`${url(j)}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    }
  });

  it('an instance launched through one is listed, and stopped, through the other', async () => {
    const cfg = join(homes[0], 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'shared', image: 'wharf/busybox:local', command: 'sleep 1000', routing: { mode: 'none' } }));
    const id = (await ok(0, ['launch', '-f', cfg])).trim();
    expect((JSON.parse(await ok(1, ['ls', '--json'])) as { id: string }[]).map((i) => i.id)).toEqual([id]);
    expect((await ok(1, ['stop', id])).trim()).toBe(`${id} stopped`);
    expect((JSON.parse(await ok(0, ['ls', '--json'])) as { status: string }[])[0].status).toBe('stopped');
  });

  it('a dashboard sign-in on one holds on the other', async () => {
    const home = homes.find((h) => existsSync(join(h, 'admin.password')))!;
    const password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    const login = await fetch(`${url(0)}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect(cookie).toMatch(/^wharf_console=/);
    const me = await fetch(`${url(1)}/api/v1/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { name: string }).name).toBe('admin');
  });

  it('publish the same signing keys; a rotation on one is published by the other, and is the current key of both', async () => {
    const before = await kids(0);
    expect(before).toHaveLength(1);
    expect(await kids(1)).toEqual(before);
    const kid = (await ok(0, ['keys', 'rotate'])).trim();
    await sleep(1_100); // the JWKS endpoint reads the store at most once a second
    expect(await kids(1)).toEqual([...before, kid].sort());
    expect(JSON.parse(await ok(1, ['keys', 'ls', '--json'])).current).toBe(kid);
  });

  it('a route an agent reports to one control reaches a gateway that follows the other, and leaves it', async () => {
    const added = envLines(await ok(0, ['gateways', 'add', 'edge']));
    gateway = await startGateway({ env: { ...added, WHARF_GATEWAY_CONTROL: url(1) } });
    const cfg = join(homes[0], 'web.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'web', image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    const id = (await ok(0, ['launch', '-f', cfg])).trim();
    // The agent's side, by hand, all on control 0.
    const agent = JSON.parse(await ok(0, ['agents', 'add', 'a1', '--json'])) as { key: string; secret: string };
    const authorization = `Bearer ${agent.key}:${agent.secret}`;
    const agentCall = (path: string, body?: unknown) => fetch(`${url(0)}/api/v1/agent/${path}`, body === undefined
      ? { method: 'POST', headers: { authorization } }
      : { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await agentCall('lease?wait=0')).status).toBe(200);
    expect((await agentCall(`instances/${id}/endpoint`, { host: '127.0.0.1', port: 18080 })).status).toBe(200);
    const routeOnGateway = async () => (JSON.parse((await plainGet(gateway!.adminPort, '/routes')).body) as { routes: { id: string; target?: string; state: string }[] }).routes.find((r) => r.id === id);
    await until('the gateway on control 1 serves the route reported to control 0', async () => (await routeOnGateway())?.target === 'http://127.0.0.1:18080', 10_000);
    expect((await agentCall(`instances/${id}/status`, { status: 'stopped' })).status).toBe(200);
    await until('the gateway on control 1 drops it', async () => (await routeOnGateway()) === undefined, 10_000);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWharf, type Running } from '../support/tcp.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';

// The real `wharf control` process, stopped with SIGTERM and started again on the same
// WHARF_HOME: users, API tokens, gateway keys, agents, instances, queues and signing keys
// survive. Once on the embedded SQLite store, once on a real PostgreSQL (--store as WHARF_STORE).
describe.each(['SQLite', 'PostgreSQL'])('control restarted keeps its state (%s store)', (backend) => {
  let home: string;
  let control: Running | undefined;
  let postgres: Postgres | undefined;
  let store: NodeJS.ProcessEnv = {};
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', ...store, ...extra });
  const runFile = () => join(home, 'run', 'control.json');
  const url = () => (JSON.parse(readFileSync(runFile(), 'utf8')) as { url: string }).url;

  async function start(): Promise<void> {
    control = await startControlProcess(env());
  }

  const ok = async (args: string[], extra: NodeJS.ProcessEnv = {}, input?: string) => {
    const r = await runWharf(args, env(extra), input);
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const jwksKids = async () => ((await (await fetch(`${url()}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const statuses = async (token: string) =>
    Object.fromEntries((JSON.parse(await ok(['ls', '--json'], { WHARF_TOKEN: token })) as { id: string; status: string }[]).map((i) => [i.id, i.status]));

  /** The first line of the route stream, read with the gateway key. */
  async function routeStreamFirstLine(key: string): Promise<{ status: number; line?: string }> {
    const ac = new AbortController();
    const res = await fetch(`${url()}/api/v1/gateways/routes`, { headers: { authorization: `Bearer ${key}` }, signal: ac.signal });
    if (res.status !== 200) return { status: res.status };
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    ac.abort();
    return { status: res.status, line: text.split('\n')[0] };
  }

  async function lease(agentAuth: string): Promise<{ status: number; instance?: string; queue?: string }> {
    const res = await fetch(`${url()}/api/v1/agent/lease?wait=0`, { method: 'POST', headers: { authorization: `Bearer ${agentAuth}` } });
    if (res.status !== 200) return { status: res.status };
    const body = (await res.json()) as { instance: string; queue: string };
    return { status: res.status, instance: body.instance, queue: body.queue };
  }

  let bobToken = '';
  let gatewayKey = '';
  let agentAuth = '';
  let ids: string[] = [];
  let before: Record<string, string> = {};
  let kidsBefore: string[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-restart-'));
    if (backend === 'PostgreSQL') {
      postgres = await startPostgres();
      store = { WHARF_STORE: await postgres.createDatabase() };
    }
    await start();
  }, 60_000);
  afterAll(async () => {
    await control?.stop();
    await postgres?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  it('sets up a user, its token, a gateway key, an agent and instances on queue q1', async () => {
    await ok(['users', 'add', 'bob'], {}, 'bob-s3cret-password\n');
    // Bob signs in and makes his own API token (cookie session, our Origin).
    const login = await fetch(`${url()}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bob', password: 'bob-s3cret-password' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const created = await fetch(`${url()}/api/v1/tokens`, { method: 'POST', headers: { cookie, origin: 'https://localhost:8443', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cli' }) });
    expect(created.status).toBe(201);
    bobToken = ((await created.json()) as { token: string }).token;

    gatewayKey = (JSON.parse(await ok(['gateways', 'add', 'g1', '--json'])) as { key: string }).key;
    const agent = JSON.parse(await ok(['agents', 'add', 'a1', '--queues', 'q1', '--json'])) as { key: string; secret: string };
    agentAuth = `${agent.key}:${agent.secret}`;

    await ok(['projects', 'add', 'Restart', '--owner', 'bob']);
    const file = join(home, 'cfg.json');
    ids = [];
    for (const name of ['first', 'second', 'third']) {
      writeFileSync(file, JSON.stringify({ app: 'container', name, project: 'Restart', queue: 'q1', image: 'wharf/busybox:local', command: 'sleep 1000', routing: { mode: 'none' } }));
      ids.push((await ok(['launch', '-f', file], { WHARF_TOKEN: bobToken })).trim());
    }
    expect((await ok(['stop', ids[1]], { WHARF_TOKEN: bobToken })).trim()).toBe(`${ids[1]} stopped`);
    before = await statuses(bobToken);
    expect(before).toEqual({ [ids[0]]: 'queued', [ids[1]]: 'stopped', [ids[2]]: 'queued' });
    kidsBefore = await jwksKids();
    expect(kidsBefore).toHaveLength(1);
    expect((await routeStreamFirstLine(gatewayKey)).status).toBe(200);
  });

  it('after SIGTERM and a start on the same WHARF_HOME, everything is still there', async () => {
    expect(await control!.stop()).toBe(0);
    // On PostgreSQL the state is in the database, not in WHARF_HOME, and its password is never printed.
    if (postgres) {
      expect(existsSync(join(home, 'wharf.db'))).toBe(false);
      const password = new URL(store.WHARF_STORE!).password;
      expect(control!.stdout() + control!.stderr()).not.toContain(password);
      expect(control!.stdout()).toContain(`"store":"postgres://wharf:***@127.0.0.1:${postgres.port}/`);
    }
    await start();

    // The user's API token still authenticates, and sees the same instances in the same states.
    expect(await statuses(bobToken)).toEqual(before);
    // The signing key is the same: tokens handed out before the restart still verify.
    expect(await jwksKids()).toEqual(kidsBefore);
    // The gateway key still opens the route stream, which starts with a snapshot.
    const stream = await routeStreamFirstLine(gatewayKey);
    expect(stream.status).toBe(200);
    expect(JSON.parse(stream.line!)).toMatchObject({ type: 'snapshot' });
    expect((await routeStreamFirstLine('wharf_gw_not_a_key')).status).toBe(401);
    // The queue kept its order: the agent leases the first, then the third (the second was stopped).
    expect(await lease(agentAuth)).toEqual({ status: 200, instance: ids[0], queue: 'q1' });
    expect(await lease(agentAuth)).toEqual({ status: 200, instance: ids[2], queue: 'q1' });
    expect((await lease(agentAuth)).status).toBe(204);
  });

  it('wharf keys rotate prints the new kid; the JWKS serves the old one too, and it survives a restart', async () => {
    const kid = (await ok(['keys', 'rotate'])).trim();
    expect(kid).toMatch(/^[\w-]{43}$/);
    expect(kid).not.toBe(kidsBefore[0]);
    expect((await jwksKids()).sort()).toEqual([kidsBefore[0], kid].sort());
    const refused = await runWharf(['keys', 'rotate'], env({ WHARF_TOKEN: bobToken }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('CTL_FORBIDDEN');
    expect(await control!.stop()).toBe(0);
    await start();
    expect((await jwksKids()).sort()).toEqual([kidsBefore[0], kid].sort());
    expect(JSON.parse(await ok(['keys', 'ls', '--json'])).current).toBe(kid);
  });
});

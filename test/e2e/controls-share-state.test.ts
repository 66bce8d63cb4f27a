import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { runWharf, type Running } from '../support/tcp.ts';

// Two real `wharf control` processes on one PostgreSQL, each with a WHARF_HOME of its own (so
// nothing is shared through files): they start together on the empty database, and then share
// users, tokens, instances, the dashboard's sign-ins and the token signing keys.
describe('two controls on one PostgreSQL share what users hold', () => {
  let postgres: Postgres;
  let store: string;
  const homes: string[] = [];
  const controls: Running[] = [];
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
});

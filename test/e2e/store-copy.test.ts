import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { runWharf, until, type Running } from '../support/tcp.ts';

// An embedded install moved to PostgreSQL with the real CLI: a control on SQLite gets users,
// instances, an agent's lease and a snapshot; `wharf store copy` moves them; a control started
// on the same WHARF_HOME with --store on PostgreSQL serves the same of each.
describe('wharf store copy: a populated SQLite install onto PostgreSQL', () => {
  let home: string;
  let postgres: Postgres;
  let target: string;
  let control: Running | undefined;
  // A lease and an agent grace that outlive the test: on a slow run, either would change an
  // instance between the two reads this test compares.
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', WHARF_STORE: '', WHARF_LEASE_TIMEOUT_S: '3600', WHARF_AGENT_GRACE_S: '3600', ...extra });
  const url = () => (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
  const ok = async (args: string[], extra: NodeJS.ProcessEnv = {}, input?: string) => {
    const r = await runWharf(args, env(extra), input);
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const state = async (extra: NodeJS.ProcessEnv = {}) => ({
    instances: JSON.parse(await ok(['ls', '--json'], extra)),
    users: JSON.parse(await ok(['users', 'ls', '--json'], extra)),
    snapshots: JSON.parse(await ok(['snapshots', 'ls', '--json'], extra)),
    agents: JSON.parse(await ok(['agents', 'ls', '--json'], extra)),
  });
  const signIn = async (password: string) => (await fetch(`${url()}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bob', password }),
  })).status;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-store-copy-'));
    postgres = await startPostgres();
    target = await postgres.createDatabase();
  }, 60_000);
  afterAll(async () => {
    await control?.stop();
    await postgres?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  let before: Awaited<ReturnType<typeof state>>;

  it('populates an embedded install', async () => {
    control = await startControlProcess(env({ WHARF_STORE: undefined }));
    await ok(['users', 'add', 'bob'], {}, 'bob-password-1\n');
    const cfg = join(home, 'cfg.json');
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      writeFileSync(cfg, JSON.stringify({ app: 'container', name, image: 'wharf/busybox:local', command: 'sleep 1000', routing: { mode: 'none' } }));
      ids.push((await ok(['launch', '-f', cfg])).trim());
    }
    await ok(['stop', ids[2]]);
    const agent = JSON.parse(await ok(['agents', 'add', 'a1', '--json'])) as { key: string; secret: string };
    const authorization = `Bearer ${agent.key}:${agent.secret}`;
    expect((await fetch(`${url()}/api/v1/agent/lease?wait=0`, { method: 'POST', headers: { authorization } })).status).toBe(200);
    const data = randomBytes(64 * 1024);
    const put = await fetch(`${url()}/api/v1/agent/instances/${ids[0]}/snapshot`, {
      method: 'PUT', body: data, headers: { authorization, 'content-type': 'application/octet-stream', 'x-wharf-sha256': createHash('sha256').update(data).digest('hex') },
    });
    expect(put.status).toBe(201);
    // Control's sweeper names the new agent in the queued instance's notice within a pass (5 s):
    // wait for it, so that the control on the copy, whose first pass comes at once, reads the same.
    await until('the queue notice names the agent', async () => (JSON.parse(await ok(['ls', '--json'])) as { statusReason: string | null }[])
      .some((i) => i.statusReason?.includes('agent a1 has not connected yet')), 15_000);
    before = await state();
    expect(before.instances).toHaveLength(3);
    expect(before.snapshots).toHaveLength(1);
    expect(before.users.map((u: { name: string }) => u.name).sort()).toEqual(['admin', 'bob']);
    expect(await control!.stop()).toBe(0);
  }, 60_000);

  it('copies it, with progress per table, and refuses to copy over it again unless told to replace', async () => {
    const copied = await runWharf(['store', 'copy', '--to', target], env());
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout).toMatch(/^copied \d+ rows to postgres:\/\/wharf:\*\*\*@127\.0\.0\.1:\d+\/wharf_\d+\n$/);
    expect(copied.stderr).toContain('users: 2 rows');
    expect(copied.stderr).toContain('snapshots: 1 row\n');
    expect(copied.stdout + copied.stderr).not.toContain(new URL(target).password);

    const again = await runWharf(['store', 'copy', '--to', target], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CTL_STORE_NOT_EMPTY');
    const replaced = await runWharf(['store', 'copy', '--to', target, '--replace', '--json'], env());
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout).rows).toMatchObject({ users: 2, instances: 3, snapshots: 1, jobs: 2 });

    // A mistyped source is refused by name, rather than made as an empty store and copied as nothing.
    const typo = join(home, 'wharf.bd');
    const missing = await runWharf(['store', 'copy', '--from', `sqlite:${typo}`, '--to', target, '--replace'], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--from sqlite:${typo}: no such database file`);
    expect(existsSync(typo)).toBe(false);
    expect(JSON.parse((await runWharf(['store', 'copy', '--to', target, '--replace', '--json'], env())).stdout).rows).toMatchObject({ users: 2 });
  });

  it('a control on the copy serves the same instances, users, agents and snapshots; the same token and password work', async () => {
    control = await startControlProcess(env({ WHARF_STORE: target }));
    expect(await state({ WHARF_STORE: target })).toEqual(before);
    expect(await signIn('bob-password-1')).toBe(200);
    expect(await signIn('wrong')).toBe(401);
    // It writes to PostgreSQL now: a launch there is not in the SQLite file.
    const cfg = join(home, 'cfg.json');
    const fourth = (await ok(['launch', '-f', cfg], { WHARF_STORE: target })).trim();
    expect((await state({ WHARF_STORE: target })).instances.map((i: { id: string }) => i.id)).toContain(fourth);
    expect(await control!.stop()).toBe(0);
    control = await startControlProcess(env({ WHARF_STORE: undefined }));
    expect((await state()).instances.map((i: { id: string }) => i.id)).not.toContain(fourth);
  }, 60_000);
});

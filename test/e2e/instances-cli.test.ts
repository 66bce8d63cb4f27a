import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWharf, type Running } from '../support/tcp.ts';
import { startControlProcess } from '../support/control-process.ts';

// The real `wharf control` process with its own WHARF_HOME, and the instance commands as processes.
describe('wharf launch, ls, show, export, stop against a real control', () => {
  let home: string;
  let control: Running | undefined;
  let id = '';
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const config = {
    app: 'container', name: 'e2e web', project: 'E2E', tags: ['e2e'], image: 'wharf/busybox:local',
    command: "sh -c 'httpd -f -p 8080'", containerArgs: '--cpus 1', env: { A: 'b' },
    routing: { mode: 'https', port: 8080 }, idle: { maxHours: 0.5 },
  };
  const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-instances-'));
    control = await startControlProcess(env());
    // A launch names a project that exists (or a built-in one).
    const project = await runWharf(['projects', 'add', 'E2E'], env());
    expect(project.code, project.stderr).toBe(0);
  });
  afterAll(async () => {
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('launches from a config file and prints the id', async () => {
    const file = join(home, 'cfg.json');
    writeFileSync(file, JSON.stringify(config));
    const launched = await runWharf(['launch', '-f', file], env());
    expect(launched.stderr).toBe('');
    expect(launched.code).toBe(0);
    id = launched.stdout.trim();
    expect(id).toMatch(/^[a-z0-9-]+$/);
  });

  it('lists it as queued, in a table and as JSON, with filters', async () => {
    const ls = await runWharf(['ls', '--json'], env());
    expect(ls.code).toBe(0);
    const list = JSON.parse(ls.stdout) as { id: string; status: string; owner: string }[];
    expect(list).toEqual([expect.objectContaining({ id, status: 'queued', owner: 'admin' })]);
    const table = await runWharf(['ls'], env());
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+APP\s+STATUS\s+PROJECT\s+AGE$/);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+e2e web\\s+container\\s+queued\\s+E2E\\s+\\d+s`));
    expect(JSON.parse((await runWharf(['ls', '--project', 'Other', '--json'], env())).stdout)).toEqual([]);
    expect(JSON.parse((await runWharf(['ls', '--tag', 'e2e', '--status', 'queued', '--json'], env())).stdout)).toHaveLength(1);
  });

  it('shows the instance view', async () => {
    const show = await runWharf(['show', id, '--json'], env());
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id, name: 'e2e web', app: 'container', status: 'queued', links: { https: `https://${id}.apps.localhost:8443/` } });
    const text = await runWharf(['show', id], env());
    expect(text.stdout).toContain('queued');
  });

  it('exports a config that launches again into the same config', async () => {
    const exported = await runWharf(['export', id], env());
    expect(exported.code).toBe(0);
    const full = JSON.parse(exported.stdout) as Record<string, unknown>;
    expect(full).toMatchObject({ ...config, kind: 'wharf.app-config', version: 1, idle: { maxHours: 0.5, cpuPercent: 5 } });
    const file = join(home, 'exported.json');
    writeFileSync(file, exported.stdout);
    const again = await runWharf(['launch', '-f', file, '--json'], env());
    expect(again.code).toBe(0);
    const view = JSON.parse(again.stdout) as { id: string; config: unknown };
    expect(view.id).not.toBe(id);
    expect(view.config).toEqual(full);
    expect((await runWharf(['export', view.id], env())).stdout).toBe(exported.stdout);
  });

  it('stops a queued instance at once, then refuses to stop it again', async () => {
    const stop = await runWharf(['stop', id], env());
    expect(stop.code).toBe(0);
    expect(stop.stdout.trim()).toBe(`${id} stopped`);
    expect(JSON.parse((await runWharf(['show', id, '--json'], env())).stdout).status).toBe('stopped');
    const again = await runWharf(['stop', id], env());
    expect(again.code).not.toBe(0);
    oneLine(again.stderr);
    expect(again.stderr).toContain('CTL_ILLEGAL_TRANSITION');
  });

  it('prints a token and a browser link; clone without a snapshot fails clearly', async () => {
    const token = await runWharf(['token', id], env());
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    const open = await runWharf(['open', id], env());
    expect(open.stdout.trim()).toMatch(new RegExp(`^https://${id}\\.apps\\.localhost:8443/\\?wharf_token=ey`));
    const clone = await runWharf(['clone', id], env());
    expect(clone.code).not.toBe(0);
    oneLine(clone.stderr);
    expect(clone.stderr).toContain('CTL_NO_SNAPSHOT');
  });

  it('fails with one line naming the field, the flag or the argument', async () => {
    const bad = join(home, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...config, routing: { mode: 'udp', port: 8080 } }));
    const launched = await runWharf(['launch', '-f', bad], env());
    expect(launched.code).not.toBe(0);
    oneLine(launched.stderr);
    expect(launched.stderr).toContain('routing.mode');

    writeFileSync(bad, JSON.stringify({ ...config, containerArgs: '--bogus' }));
    const args = await runWharf(['launch', '-f', bad], env());
    oneLine(args.stderr);
    expect(args.stderr).toContain('containerArgs');

    writeFileSync(bad, '{ not json');
    const notJson = await runWharf(['launch', '-f', bad], env());
    expect(notJson.code).not.toBe(0);
    oneLine(notJson.stderr);
    expect(notJson.stderr).toContain('--file');

    const noFile = await runWharf(['launch'], env());
    oneLine(noFile.stderr);
    expect(noFile.stderr).toContain('--file');
    const missing = await runWharf(['show'], env());
    oneLine(missing.stderr);
    expect(missing.stderr).toContain('ID');
    const unknown = await runWharf(['show', 'i-nope'], env());
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('CTL_NOT_FOUND');
    const flag = await runWharf(['ls', '--colour'], env());
    oneLine(flag.stderr);
    expect(flag.stderr).toContain('--colour');
    const status = await runWharf(['ls', '--status', 'running'], env());
    oneLine(status.stderr);
    expect(status.stderr).toContain('status');
  });

  it('keeps instances across a control restart', async () => {
    expect(await control!.stop()).toBe(0);
    const runFile = join(home, 'run', 'control.json');
    control = await startControlProcess(env());
    const ls = JSON.parse((await runWharf(['ls', '--json'], env())).stdout) as { id: string }[];
    expect(ls.map((i) => i.id)).toContain(id);
    expect(readFileSync(runFile, 'utf8')).toContain('url');
  });
});

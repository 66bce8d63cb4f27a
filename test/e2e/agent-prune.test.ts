import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, docker, inspect, requireDockerAndBusybox } from '../support/stack.ts';
import { runWharf, until } from '../support/tcp.ts';

/*
 * Issue 5, "Done when": `wharf prune --until 3s --label wharf.test=<this file's>` against the
 * real Docker Engine removes only Wharf app containers (wharf.type=application) that stopped
 * longer ago than 3 s: not one that stopped just now, not a running one, not one without
 * wharf.type. Containers are made with `docker run`/`docker create`, labelled like the
 * agent's; the label of this file keeps every other container out of reach.
 */

describe('wharf prune removes only old stopped Wharf containers', () => {
  const testLabel = `e2e-prune-${randomBytes(6).toString('hex')}`;
  const label = `wharf.test=${testLabel}`;
  const name = (what: string) => `${testLabel}-${what}`;
  const home = mkdtempSync(join(tmpdir(), 'wharf-prune-e2e-'));
  const wharfLabels = (what: string) => ['--label', 'wharf.type=application', '--label', `wharf.instance=${name(what)}`, '--label', 'wharf.agent=e2e', '--label', label];
  const env = () => {
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WHARF_')) e[k] = v;
    return { ...e, WHARF_HOME: home };
  };
  const run = async (args: string[]) => {
    const out = await docker(...args);
    expect(out.code, `docker ${args.join(' ')}: ${out.stderr}`).toBe(0);
    return out.stdout.trim();
  };

  beforeAll(async () => {
    await requireDockerAndBusybox();
    // Stopped "a while" ago (over 4 s before the prune): an app container, one never started, and one without wharf.type.
    await run(['run', '--name', name('old'), ...wharfLabels('old'), BUSYBOX, 'true']);
    await run(['create', '--name', name('never-started'), ...wharfLabels('never-started'), BUSYBOX, 'true']);
    await run(['run', '--name', name('not-wharf'), '--label', label, BUSYBOX, 'true']);
    await run(['run', '-d', '--name', name('running'), ...wharfLabels('running'), BUSYBOX, 'sleep', '600']);
    const oldFinished = Date.parse((await inspect(name('old'))).State.FinishedAt);
    await until('the old containers are over 4 s old', () => Date.now() - oldFinished > 4_000, 10_000, 100);
  }, 60_000);
  afterAll(async () => {
    const ids = (await docker('ps', '-aq', '--filter', `label=${label}`)).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await docker('rm', '-f', '-v', ...ids);
    rmSync(home, { recursive: true, force: true });
  });

  it('removes the app container that stopped over 3 s ago, keeps the others', async () => {
    // Stopped just now.
    expect((await docker('run', '--name', name('new'), ...wharfLabels('new'), BUSYBOX, 'sh', '-c', 'exit 3')).code).toBe(3);
    // 3 s: the "new" one stays well inside it even on a loaded machine (the CLI takes ~1 s to start).
    const pruned = await runWharf(['prune', '--until', '3s', '--label', label, '--json'], env());
    expect(pruned.code, pruned.stderr).toBe(0);
    const list = JSON.parse(pruned.stdout) as { name: string; instance: string | null; finishedAt: string }[];
    expect(list.map((p) => p.name).sort()).toEqual([name('never-started'), name('old')].sort());
    expect(list.find((p) => p.name === name('old'))?.instance).toBe(name('old'));

    expect(await inspect(name('old'))).toBeUndefined();
    expect(await inspect(name('never-started'))).toBeUndefined();
    expect((await inspect(name('new')))?.State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    expect((await inspect(name('running')))?.State.Running).toBe(true);
    expect((await inspect(name('not-wharf')))?.State.Status).toBe('exited');
  });

  it('prints one line per removed container and a count; the newer one goes once it is old enough', async () => {
    const finished = Date.parse((await inspect(name('new'))).State.FinishedAt);
    await until('the new container is over 3 s old', () => Date.now() - finished > 3_200, 10_000, 100);
    const later = await runWharf(['prune', '--until', '3s', '--label', label], env());
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout.trim()).toMatch(new RegExp(`^removed ${name('new')} \\(instance ${name('new')}, stopped \\S+\\)$`));
    expect(later.stderr.trim()).toBe('wharf prune: 1 stopped container(s) removed');
    expect((await inspect(name('running')))?.State.Running).toBe(true);
    expect(await inspect(name('not-wharf'))).toBeDefined();
  });

  it('refuses a malformed --until with a one-line reason', async () => {
    const bad = await runWharf(['prune', '--until', 'soon', '--label', label], env());
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--until/);
  });
});

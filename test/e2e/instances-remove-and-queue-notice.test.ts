import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startStack, type Stack } from '../support/stack.ts';
import { spawnCollect, until, WHARF } from '../support/tcp.ts';

/*
 * Issue 15, through the real CLI against real `wharf control`, `wharf gateway` and `wharf
 * agent` processes on the Docker Engine:
 * - `wharf rm` refuses a running instance, removes a stopped one (its owner's or an admin's),
 *   keeps its snapshot so that `wharf clone` and a launch from it still restore the workspace,
 *   and `--snapshots` deletes them too;
 * - a launch into a queue no agent serves says so (`wharf show`, `wharf logs`), and starts
 *   with the reason gone once an agent for that queue is started.
 */

const WS = '/root/workspace';
// Writes a marker into the workspace only when it is empty: a clone keeps what it restored.
const SCRIPT = `sh -c 'cd ${WS} && ( [ -e marker ] || echo from-the-source > marker ) && exec sleep 3600'`;

describe('wharf rm, and a queue no agent serves', () => {
  let stack: Stack;
  const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);

  beforeAll(async () => {
    stack = await startStack();
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('removes a stopped instance, keeps its snapshot for a clone, and deletes it with --snapshots', async () => {
    const source = (await stack.launch({ name: 'rm-source', routing: { mode: 'none' }, command: SCRIPT })).id;
    await stack.waitFor(source, 'active', 30_000);

    const running = await stack.cli(['rm', source]);
    expect(running.code).not.toBe(0);
    oneLine(running.stderr);
    expect(running.stderr).toContain('CTL_ILLEGAL_TRANSITION');
    expect(running.stderr).toContain(`wharf stop ${source}`);

    expect((await stack.cli(['stop', source])).code).toBe(0);
    const stopped = await stack.waitFor(source, ['stopped', 'failed'], 60_000);
    expect(stopped.status, `${stopped.statusReason}`).toBe('stopped');

    // Another user neither sees nor removes it.
    const bob = await stack.addUser('bob');
    const other = await stack.cli(['rm', source], bob.env);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('CTL_NOT_FOUND');

    const removed = await stack.cli(['rm', source]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trim()).toBe(`${source} removed; 1 snapshot kept (wharf clone ${source})`);
    const show = await stack.cli(['show', source]);
    expect(show.code).not.toBe(0);
    expect(show.stderr).toContain('CTL_NOT_FOUND');
    const all = JSON.parse((await stack.cli(['ls', '--all', '--json'])).stdout) as { id: string }[];
    expect(all.map((i) => i.id)).not.toContain(source);

    // Its snapshot still restores into a clone.
    const cloned = await stack.cli(['clone', source]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const file = join(stack.home, 'clone.json');
    writeFileSync(file, cloned.stdout);
    const launched = await stack.cli(['launch', '-f', file]);
    expect(launched.code, launched.stderr).toBe(0);
    const clone = launched.stdout.trim();
    const active = await stack.waitFor(clone, ['active', 'failed'], 60_000);
    expect(active.status, `${active.statusReason}`).toBe('active');
    expect(active.restoredFrom).toBe(source);
    expect((await docker('exec', `wharf-${clone}`, 'cat', `${WS}/marker`)).stdout).toBe('from-the-source\n');

    const gone = await stack.cli(['rm', source, '--snapshots']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout.trim()).toBe(`${source} removed, with 1 snapshot`);
    const again = await stack.cli(['clone', source]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/CTL_NOT_FOUND|CTL_NO_SNAPSHOT/);
  }, 300_000);

  it('says that no agent serves the queue, in show and in the console, until an agent for it starts', async () => {
    const view = await stack.launch({ name: 'gpu-job', queue: 'gpu', routing: { mode: 'none' }, command: "sh -c 'exec sleep 3600'" });
    expect(view).toMatchObject({ status: 'queued', statusReason: 'no agent serves queue gpu' });
    const show = await stack.cli(['show', view.id]);
    expect(show.stdout).toMatch(/^status:\s+queued \(no agent serves queue gpu\)$/m);
    expect((await stack.cli(['logs', view.id])).stdout).toContain('no agent serves queue gpu');

    // An agent for the queue: the instance starts, and says no more that nobody serves it.
    const added = await stack.cli(['agents', 'add', 'g1', '--queues', 'gpu']);
    expect(added.code, added.stderr).toBe(0);
    const envFile = join(stack.home, 'agent-g1.env');
    writeFileSync(envFile, added.stdout, { mode: 0o600 });
    // A second agent process, as the stack starts its own, allowed a slow start on a busy machine.
    const g1 = spawnCollect(process.execPath, [WHARF, 'agent', '--env-file', envFile, '--metrics-listen', 'off'],
      stack.env({ WHARF_LABELS: stack.label, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '2' }));
    try {
      await until('agent g1 takes jobs', () => /taking jobs/.test(g1.stderr()) || g1.child.exitCode !== null, 90_000, 100);
      expect(g1.child.exitCode, g1.stderr()).toBeNull();
      const active = await stack.waitFor(view.id, ['active', 'failed'], 60_000);
      expect(active).toMatchObject({ status: 'active', statusReason: null });
      const ls = await stack.cli(['ls']);
      expect(ls.stdout).toMatch(new RegExp(`${view.id}\\s+gpu-job\\s+container\\s+active\\s`));
    } finally {
      await g1.stop();
    }
  }, 240_000);
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackUser } from '../support/stack.ts';

/*
 * Issue 6: "another user's snapshot is refused", with the real CLI on the real Docker Engine.
 * The admin's app writes its workspace and stops (a snapshot); bob, a plain user with his own
 * API token, can neither see that snapshot, nor delete it, nor clone or restore from it.
 */
describe('another user\'s snapshot', () => {
  let stack: Stack;
  let bob: StackUser;
  let source: string;
  let snapshot: string;

  beforeAll(async () => {
    stack = await startStack();
    bob = await stack.addUser('bob');

    const app = await stack.launch({ name: 'admin work', routing: { mode: 'none' }, command: "sh -c 'echo secret > /root/workspace/notes.txt; exec sleep 3600'" });
    source = app.id;
    await stack.waitFor(source, 'active');
    expect((await stack.cli(['stop', source])).code).toBe(0);
    await stack.waitFor(source, 'stopped', 30_000);
    const list = await stack.cli(['snapshots', 'ls', '--instance', source, '--json']);
    expect(list.code, list.stderr).toBe(0);
    snapshot = (JSON.parse(list.stdout) as { id: string }[])[0].id;
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('is not listed, cannot be deleted, cloned or restored from by another user', async () => {
    const ls = await stack.cli(['snapshots', 'ls', '--json'], bob.env);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);

    const rm = await stack.cli(['snapshots', 'rm', snapshot], bob.env);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr.trim().split('\n')).toHaveLength(1);

    const clone = await stack.cli(['clone', source], bob.env);
    expect(clone.code).not.toBe(0);
    expect(clone.stderr.trim().split('\n')).toHaveLength(1);

    // A config naming the admin's instance as restoreFrom is refused at launch, naming the field.
    const out = await stack.cli(['export', source]);
    const config = { ...JSON.parse(out.stdout), workspace: { path: '/root/workspace', restoreFrom: source, exclude: [] } };
    const file = join(stack.home, 'bob-config.json');
    writeFileSync(file, JSON.stringify(config));
    const launched = await stack.cli(['launch', '-f', file], bob.env);
    expect(launched.code).not.toBe(0);
    expect(launched.stderr).toMatch(/workspace\.restoreFrom/);

    // The owner still has it, and can restore from it.
    const mine = await stack.cli(['snapshots', 'ls', '--json']);
    expect((JSON.parse(mine.stdout) as { id: string }[]).map((s) => s.id)).toContain(snapshot);
    const cloned = await stack.cli(['clone', source]);
    expect(cloned.code, cloned.stderr).toBe(0);
    expect(JSON.parse(cloned.stdout).workspace.restoreFrom).toBe(source);
  }, 60_000);
});

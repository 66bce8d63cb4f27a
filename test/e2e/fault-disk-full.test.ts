import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 19, faults: the disk under control's snapshot store fills up during an upload. Control's
 * WHARF_HOME/snapshots is a 1 MiB tmpfs (mounted by the test, as root like the rest of CI); a
 * real agent on the Docker Engine stops an app whose workspace holds 3 MB that do not compress.
 * The stop fails with the reason named, the previous snapshot is intact (its bytes match its
 * sha256), no partial file is left, and control keeps serving.
 */

const WS = '/root/workspace';

describe('faults: control\'s snapshot store full during an upload', () => {
  let stack: Stack;
  let dir = '';
  let mounted = false;

  beforeAll(async () => {
    stack = await startStack();
    dir = join(stack.home, 'snapshots');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'wharf-test-full', dir]);
    mounted = true;
  }, 90_000);
  afterAll(async () => {
    if (mounted) execFileSync('umount', [dir]);
    await stack?.stop();
  });

  it('fails the stop with the full disk named, keeps the previous snapshot whole, leaves no partial file, and control keeps serving', async () => {
    const { id } = await stack.launch({ name: 'ws-full', routing: { mode: 'none' }, command: `sh -c 'echo small > ${WS}/small.txt && exec sleep 3600'` });
    await stack.waitFor(id, 'active', 30_000);
    const first = await stack.cli(['snapshot', id, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const previous = JSON.parse(first.stdout) as { id: string; sha256: string };
    // Random bytes do not compress: 3 MB stay about 3 MB, three times the room left.
    const write = await docker('exec', `wharf-${id}`, 'sh', '-c', `head -c 3000000 /dev/urandom > ${WS}/big.bin`);
    expect(write.code, write.stderr).toBe(0);

    expect((await stack.cli(['stop', id])).code).toBe(0);
    const failed = await stack.waitFor(id, ['failed', 'stopped'], 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.statusReason).toMatch(/snapshot upload failed: .*out of disk space/);
    expect(failed.statusReason).toMatch(/the previous snapshot is kept/);
    expect((await docker('volume', 'inspect', `wharf-ws-${id}`)).code).toBe(0);

    // Only the previous snapshot, whole: no temp file, nothing half-written under a blob's name.
    expect(readdirSync(dir)).toEqual([previous.sha256]);
    const snaps = await stack.snapshots(id);
    expect(snaps.map((s) => s.id)).toEqual([previous.id]);
    expect(await stack.snapshotBytesSha256(previous.id)).toBe(previous.sha256);

    // Control serves on: the CLI lists the instance, and a new app launches and runs.
    const listed = await stack.cli(['ls', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string; status: string }[]).find((i) => i.id === id)?.status).toBe('failed');
    const { id: next } = await stack.launch({ name: 'after-full', routing: { mode: 'none' }, command: 'sleep 3600' });
    await stack.waitFor(next, 'active', 30_000);
  }, 120_000);
});

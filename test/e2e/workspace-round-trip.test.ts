import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, exec, inspect, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 6 "Workspaces", done when: real `wharf control`, `wharf gateway`, `wharf agent` and
 * CLI processes on the real Docker Engine. Files written into a busybox app's workspace are
 * found with equal sha256 in a clone after a stop (`wharf clone ID` → `wharf launch`),
 * symlinks intact, modes and a non-root owner kept, excludes left out, `restoredFrom` set;
 * stopping the unchanged clone uploads 0 new bytes; `wharf snapshot ID` snapshots a running
 * app; a tampered blob fails the restore with a checksum message; a Node app on
 * `wharf/node:local` (images/build.sh node) keeps its workspace across a clone too.
 */

const WS = '/root/workspace';
// Writes the workspace only when it is empty: a clone keeps what it restored.
const SETUP = [
  `cd ${WS}`,
  'if [ ! -e a.txt ]; then',
  '  mkdir -p sub/deeper .cache',
  '  echo hello > a.txt && chmod 0600 a.txt',
  '  head -c 300000 /dev/urandom > sub/random.bin',
  '  printf "#!/bin/sh\\necho run\\n" > sub/run.sh && chmod 0755 sub/run.sh',
  '  echo owned > sub/deeper/owned.txt',
  '  chown -R 1000:1000 sub && chmod 0751 sub',
  '  ln -s a.txt link && ln -s /etc/passwd abs-link && ln a.txt hard',
  '  echo cached > .cache/junk',
  'fi',
  'exec sleep 3600',
].join('\n');
const FILES = ['a.txt', 'sub/random.bin', 'sub/run.sh', 'sub/deeper/owned.txt', 'hard'];

async function dexec(id: string, script: string): Promise<string> {
  const out = await docker('exec', `wharf-${id}`, 'sh', '-c', script);
  if (out.code !== 0) throw new Error(`docker exec in ${id}: ${out.stderr}`);
  return out.stdout;
}

/** What must survive the round trip: content hashes, links, modes, owners. */
async function fingerprint(id: string) {
  return {
    sums: await dexec(id, `cd ${WS} && sha256sum ${FILES.join(' ')}`),
    links: await dexec(id, `cd ${WS} && readlink link && readlink abs-link`),
    stats: await dexec(id, `cd ${WS} && stat -c '%n %a %u:%g %Y' a.txt sub sub/run.sh sub/deeper sub/deeper/owned.txt`),
    hardlinked: (await dexec(id, `cd ${WS} && stat -c '%i' a.txt hard`)).trim().split('\n'),
  };
}

describe('workspaces: snapshot on stop, restore into a clone, 0 new bytes when unchanged', () => {
  let stack: Stack;
  let source: string;
  let clone: string;
  let before: Awaited<ReturnType<typeof fingerprint>>;

  const blobs = () => readdirSync(join(stack.home, 'snapshots'), { recursive: true }).map(String).filter((f) => !f.split('/').pop()!.startsWith('.') && statSync(join(stack.home, 'snapshots', f)).isFile());
  const logs = async (id: string) => (await stack.cli(['logs', id])).stdout;

  beforeAll(async () => {
    stack = await startStack();
  }, 90_000);
  afterAll(async () => {
    await stack?.stop(); // its containers and workspace volumes too
  });

  it('keeps the workspace on a labelled volume and snapshots it on stop, then removes container and volume', async () => {
    const view = await stack.launch({ name: 'ws-source', routing: { mode: 'none' }, command: `sh -c '${SETUP.replace(/'/g, `'\\''`)}'`, workspace: { path: WS, exclude: ['.cache'] } });
    source = view.id;
    await stack.waitFor(source, 'active', 30_000);
    const vol = await docker('volume', 'inspect', `wharf-ws-${source}`);
    expect(vol.code, vol.stderr).toBe(0);
    expect(JSON.parse(vol.stdout)[0].Labels).toMatchObject({ 'wharf.type': 'workspace', 'wharf.instance': source, 'wharf.test': stack.testLabel });
    const mounts = (await inspect(`wharf-${source}`)).Mounts as { Type: string; Name: string; Destination: string }[];
    expect(mounts).toContainEqual(expect.objectContaining({ Type: 'volume', Name: `wharf-ws-${source}`, Destination: WS }));
    await until(async () => (await dexec(source, `ls ${WS}`)).includes('link'));
    before = await fingerprint(source);
    expect(before.stats).toMatch(/^sub 751 1000:1000 /m);

    const stop = await stack.cli(['stop', source]);
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await stack.waitFor(source, ['stopped', 'failed'], 60_000);
    expect(stopped.status, `${stopped.statusReason}\n${await logs(source)}`).toBe('stopped');
    const snaps = await stack.snapshots(source);
    expect(snaps).toHaveLength(1);
    const console = await logs(source);
    expect(console).toMatch(/snapshot: reading the workspace \/root\/workspace \(excluding \.cache\)/);
    expect(console).toMatch(/snapshot: stored as /);
    expect(console).toMatch(/workspace volume wharf-ws-\S+ removed/);
    expect(await inspect(`wharf-${source}`)).toBeUndefined();
    expect((await docker('volume', 'inspect', `wharf-ws-${source}`)).code).not.toBe(0);
  }, 120_000);

  it('restores into a clone: equal sha256, symlinks, hardlinks, modes and owner; excludes left out; restoredFrom set', async () => {
    const cloned = await stack.cli(['clone', source]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const config = JSON.parse(cloned.stdout);
    expect(config.workspace.restoreFrom).toBe(source);
    const file = join(stack.home, 'clone.json');
    writeFileSync(file, JSON.stringify({ ...config, name: 'ws-clone' }));
    const launched = await stack.cli(['launch', '-f', file, '--json']);
    expect(launched.code, launched.stderr).toBe(0);
    clone = JSON.parse(launched.stdout).id;
    const active = await stack.waitFor(clone, ['active', 'failed'], 60_000);
    expect(active.status, `${active.statusReason}`).toBe('active');
    const after = await fingerprint(clone);
    expect(after.sums).toBe(before.sums);
    expect(after.links).toBe('a.txt\n/etc/passwd\n');
    expect(after.stats).toBe(before.stats);
    expect(after.hardlinked[0]).toBe(after.hardlinked[1]);
    expect(await dexec(clone, `ls -a ${WS}`)).not.toContain('.cache');
    const shown = await stack.cli(['show', clone, '--json']);
    expect(JSON.parse(shown.stdout).restoredFrom).toBe(source);
    const console = await logs(clone);
    expect(console).toMatch(/restore: downloading snapshot/);
    expect(console).toMatch(/sha256 [0-9a-f]{16}… verified/);
    expect(console).toMatch(/restore: workspace \/root\/workspace restored/);
  }, 120_000);

  it('`wharf snapshot ID` of the unchanged clone, then its stop: the source\'s digest each time, 0 new bytes, no new blob', async () => {
    const [sourceSnap] = await stack.snapshots(source);
    const blobsBefore = blobs().length;
    const same = await stack.cli(['snapshot', clone, '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout).sha256).toBe(sourceSnap.sha256);
    expect(await logs(clone)).toMatch(/snapshot: unchanged workspace .*: 0 new bytes uploaded/);

    expect((await stack.cli(['stop', clone])).code).toBe(0);
    const stopped = await stack.waitFor(clone, ['stopped', 'failed'], 60_000);
    expect(stopped.status, `${stopped.statusReason}`).toBe('stopped');
    const snaps = await stack.snapshots(clone);
    expect(snaps).toHaveLength(2);
    expect(snaps.every((s) => s.sha256 === sourceSnap.sha256)).toBe(true);
    expect(blobs().length).toBe(blobsBefore);
    expect((await logs(clone)).match(/0 new bytes uploaded/g)).toHaveLength(2);
    expect((await logs(clone))).not.toMatch(/snapshot: uploading/);
  }, 90_000);

  it('`wharf snapshot ID` of a changed workspace stores a new digest while the app runs on', async () => {
    const { id } = await stack.launch({ name: 'ws-ondemand', routing: { mode: 'none' }, command: `sh -c 'echo one > ${WS}/f && exec sleep 3600'` });
    await stack.waitFor(id, 'active', 30_000);
    await until(async () => (await dexec(id, `cat ${WS}/f`)).includes('one'));
    const blobsBefore = blobs().length;
    const first = await stack.cli(['snapshot', id, '--json']);
    expect(first.code, first.stderr).toBe(0);
    await dexec(id, `echo two >> ${WS}/f`);
    const second = await stack.cli(['snapshot', id]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^snapshot \S+ of \S+: \d+ bytes, sha256 [0-9a-f]{64}$/m);
    expect(second.stdout).not.toContain(JSON.parse(first.stdout).sha256);
    expect(blobs().length).toBe(blobsBefore + 2);
    expect((await stack.show(id)).status).toBe('active');
    expect(await logs(id)).toMatch(/snapshot: uploaded|snapshot: stored as/);
  }, 60_000);

  it('runs a Node app on wharf/node:local (images/build.sh node) whose workspace a clone gets back', async () => {
    const built = await exec(new URL('../../images/build.sh', import.meta.url).pathname, ['node'], 300_000);
    expect(built.code, built.stderr).toBe(0);
    const script = `const fs = require('fs'); const f = '${WS}/visits'; fs.appendFileSync(f, process.version + '\\n'); setInterval(() => {}, 1e6);`;
    const config = { routing: { mode: 'none' }, image: 'wharf/node:local', command: `node -e "${script}"` };
    const first = await stack.launch({ name: 'ws-node', ...config });
    await stack.waitFor(first.id, 'active', 30_000);
    await until(async () => (await dexec(first.id, `cat ${WS}/visits`)).startsWith('v24.'));
    expect((await stack.cli(['stop', first.id])).code).toBe(0);
    expect((await stack.waitFor(first.id, ['stopped', 'failed'], 60_000)).status).toBe('stopped');
    const second = await stack.launch({ name: 'ws-node-2', ...config, workspace: { path: WS, restoreFrom: first.id } });
    await stack.waitFor(second.id, 'active', 30_000);
    await until(async () => (await dexec(second.id, `cat ${WS}/visits`)).split('\n').filter(Boolean).length === 2);
  }, 120_000);

  it('refuses to restore a tampered snapshot: the clone fails with a checksum message, nothing started', async () => {
    const [snap] = await stack.snapshots(source);
    const path = blobs().map((f) => join(stack.home, 'snapshots', f)).find((f) => f.includes(snap.sha256));
    expect(path).toBeDefined();
    const bytes = readFileSync(path!);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path!, bytes);
    const view = await stack.launch({ name: 'ws-tampered', routing: { mode: 'none' }, command: 'sleep 3600', workspace: { path: WS, restoreFrom: source } });
    const failed = await stack.waitFor(view.id, ['failed', 'active'], 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.statusReason).toMatch(/fails its checksum/);
    expect(failed.statusReason).toMatch(/tampered with, and nothing was restored/);
    const info = await inspect(`wharf-${view.id}`);
    expect(info?.State.Running ?? false).toBe(false);
    expect(info?.State.StartedAt ?? '0001').toMatch(/^0001/);
  }, 60_000);
});

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

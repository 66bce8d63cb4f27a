import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWharf, type Running } from '../support/tcp.ts';
import { startControlProcess } from '../support/control-process.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The real `wharf control` process: an agent uploads over HTTP, the CLI lists and removes, and
// a restart of control keeps the snapshot and its blob.
describe('wharf snapshots ls|rm against a real control, across a restart', () => {
  let home: string;
  let control: Running | undefined;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const runFile = () => join(home, 'run', 'control.json');
  const url = () => (JSON.parse(readFileSync(runFile(), 'utf8')) as { url: string }).url;

  async function startControl() {
    control = await startControlProcess(env());
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-snapshots-'));
    await startControl();
  });
  afterAll(async () => {
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists an uploaded snapshot, keeps it across a restart, and removes it', async () => {
    const cfg = join(home, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'snap', image: 'wharf/busybox:local', command: 'sleep 1000', routing: { mode: 'none' } }));
    const launched = await runWharf(['launch', '-f', cfg], env());
    expect(launched.code, launched.stderr).toBe(0);
    const id = launched.stdout.trim();
    const added = await runWharf(['agents', 'add', 'a1', '--json'], env());
    expect(added.code, added.stderr).toBe(0);
    const agent = JSON.parse(added.stdout) as { key: string; secret: string };
    const authorization = `Bearer ${agent.key}:${agent.secret}`;
    const lease = await fetch(`${url()}/api/v1/agent/lease?wait=0`, { method: 'POST', headers: { authorization } });
    expect(lease.status).toBe(200);

    const data = randomBytes(2 * 1024 * 1024);
    const put = await fetch(`${url()}/api/v1/agent/instances/${id}/snapshot`, {
      method: 'PUT', body: data, headers: { authorization, 'content-type': 'application/octet-stream', 'x-wharf-sha256': sha(data) },
    });
    expect(put.status).toBe(201);
    const snap = (await put.json()) as { id: string };

    const ls = await runWharf(['snapshots', 'ls', '--instance', id, '--json'], env());
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ id: snap.id, instance: id, sha256: sha(data), size: data.length })]);
    expect((await runWharf(['snapshots', 'ls'], env())).stdout).toContain(snap.id);

    await control!.stop();
    await startControl();
    const after = await runWharf(['snapshots', 'ls', '--json'], env());
    expect(JSON.parse(after.stdout).map((s: { id: string }) => s.id)).toEqual([snap.id]);
    const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const blob = await fetch(`${url()}/api/v1/snapshots/${snap.id}/blob`, { headers: { authorization: `Bearer ${token}` } });
    expect(sha(Buffer.from(await blob.arrayBuffer()))).toBe(sha(data));

    const rm = await runWharf(['snapshots', 'rm', snap.id], env());
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse((await runWharf(['snapshots', 'ls', '--json'], env())).stdout)).toEqual([]);
    expect(readdirSync(join(home, 'snapshots'))).toEqual([]);
    const again = await runWharf(['snapshots', 'rm', snap.id], env());
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    const bad = await runWharf(['snapshots', 'nope'], env());
    expect(bad.code).toBe(2);
  });
});

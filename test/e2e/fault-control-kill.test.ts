import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { docker, inspect, startStack, type Stack } from '../support/stack.ts';
import { freePort, until } from '../support/tcp.ts';

/*
 * Issue 19, faults: `kill -9` of control during a snapshot upload and during a launch, with a
 * real gateway and agent on the real Docker Engine. Control is started again on the same
 * address and home, as a service manager would. Nothing may be half-written in the store or the
 * blob store, and the agent must complete what it was doing or fail it clearly: no instance
 * waits forever.
 */

const WS = '/root/workspace';
const GRACE_S = 5;

describe('faults: control killed with SIGKILL, then started again', () => {
  let stack: Stack;
  let port: number;
  const args = () => ['--listen', `127.0.0.1:${port}`, '--tcp-ports', `${stack.tcpBase}-${stack.tcpBase + 19}`, '--idle-window', '86400', '--agent-grace', String(GRACE_S)];

  beforeAll(async () => {
    port = await freePort();
    stack = await startStack({ controlArgs: ['--listen', `127.0.0.1:${port}`, '--agent-grace', String(GRACE_S)] });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  /** SIGKILL once `reached` says so; control is away for `awayMs`, then started again. */
  const killControlWhen = async (what: string, reached: () => Promise<boolean> | boolean, awayMs = 1_000) => {
    await until(what, reached, 60_000, 20);
    stack.control.child.kill('SIGKILL');
    await stack.control.exited;
    await new Promise((r) => setTimeout(r, awayMs));
    stack.control = await startControlProcess(stack.env(), args());
  };

  it('during a snapshot upload: nothing half-written under a blob\'s name, and the agent takes the snapshot again and completes the stop once control is back', async () => {
    const { id } = await stack.launch({ name: 'upload', routing: { mode: 'none' }, command: `sh -c 'head -c 120000000 /dev/urandom > ${WS}/big.bin && echo ok > ${WS}/small.txt && exec sleep 3600'` });
    await stack.waitFor(id, 'active', 30_000);
    await until('the workspace is written', async () => (await docker('exec', `wharf-${id}`, 'cat', `${WS}/small.txt`)).stdout === 'ok\n', 60_000, 250);
    const first = await stack.cli(['snapshot', id, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const previous = JSON.parse(first.stdout) as { id: string; sha256: string };
    expect((await docker('exec', `wharf-${id}`, 'sh', '-c', `echo changed > ${WS}/small.txt`)).code).toBe(0);

    expect((await stack.cli(['stop', id])).code).toBe(0);
    const store = join(stack.home, 'snapshots');
    await killControlWhen('control receives the upload', () => readdirSync(store).some((f) => f.startsWith('.tmp-')));
    const view = await stack.waitFor(id, ['stopped', 'failed'], 120_000);
    const snaps = await stack.snapshots(id);
    for (const s of snaps) expect(await stack.snapshotBytesSha256(s.id)).toBe(s.sha256);
    expect(snaps.map((s) => s.id)).toContain(previous.id);
    // The agent took the snapshot again once control answered: the new one is whole, and the
    // workspace went only after it was stored.
    expect(view.status, view.statusReason ?? '').toBe('stopped');
    expect(snaps).toHaveLength(2);
    expect(await inspect(`wharf-${id}`)).toBeUndefined();
    expect((await docker('volume', 'inspect', `wharf-ws-${id}`)).code).not.toBe(0);
    const console = ((await stack.api('GET', `/api/v1/instances/${id}/console?limit=10000`)).json.lines as { text: string }[]).map((l) => l.text).join('\n');
    expect(console).toMatch(/snapshot upload failed: .*; control may be restarting: trying again in \d+ s/);
    // Nothing under a blob's name but whole snapshots. The killed control's temp file may stay
    // (named .tmp-…, never read) until the hourly pass removes it (blob-store.test.ts).
    const files = readdirSync(store);
    expect(files.filter((f) => !f.startsWith('.tmp-')).sort()).toEqual(snaps.map((s) => s.sha256).sort());
    expect(files.filter((f) => f.startsWith('.tmp-')).length).toBeLessThanOrEqual(1);
  }, 240_000);

  it('during a launch (the readiness wait): the app ends active once control is back, routed by the gateway', async () => {
    const { id } = await stack.launch({ name: 'launch', routing: { mode: 'https', port: 8080 }, command: "sh -c 'sleep 4; mkdir -p /www && echo late > /www/index.html && exec httpd -f -p 8080 -h /www'" });
    const logs = async () => ((await stack.api('GET', `/api/v1/instances/${id}/console?limit=1000`)).json.lines as { text: string }[]).map((l) => l.text).join('\n');
    await killControlWhen('the agent waits for readiness', async () => /waiting for the app to answer/.test(await logs()), 6_000);
    const view = await stack.waitFor(id, ['active', 'failed'], 60_000);
    expect(view.status, view.statusReason ?? '').toBe('active');
    const token = await stack.token(id);
    await until('the gateway serves it', async () => (await stack.appGet(id, token).catch(() => undefined))?.body === 'late\n', 20_000, 200);
    const running = [...(await stack.containers())].filter(([, state]) => state === 'running');
    expect(running.map(([name]) => name)).toEqual([`wharf-${id}`]);
  }, 120_000);
});

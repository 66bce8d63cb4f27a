import { readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, inspect, startStack, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 19, faults: `kill -9` of the agent at each step of a launch and during a snapshot
 * upload, with real control, gateway and agent processes on the real Docker Engine. The agent
 * is started again on the same host, as a service manager would; each instance must end in a
 * true status — adopted `active`, or `failed` with the step named — no container may run
 * without an instance, and no snapshot may be half-written on either side.
 * - pull: the image comes from a registry that accepts connections and never answers;
 * - create/restore: a clone restoring a 120 MB workspace;
 * - readiness: an app that answers only after 6 s;
 * - snapshot upload: a stop uploading a 120 MB workspace.
 */

const WS = '/root/workspace';
const httpd = (text: string, delayS = 0) => `sh -c '${delayS ? `sleep ${delayS}; ` : ''}mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www'`;

describe('faults: the agent killed with SIGKILL at each step, then started again', () => {
  let stack: Stack;
  let hanging: Server;
  const held: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack();
    // A registry that never answers: the Engine's pull of an image from it waits.
    hanging = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  }, 90_000);
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    hanging?.close();
    await stack?.stop();
  });

  /** The instance's console as control holds it (the API: quicker to poll than the CLI). */
  const logs = async (id: string) => ((await stack.api('GET', `/api/v1/instances/${id}/console?limit=10000`)).json.lines as { text: string }[]).map((l) => l.text).join('\n');
  /** Kills the agent with SIGKILL once `reached` says so, then starts it again. */
  const killWhen = async (what: string, reached: () => Promise<boolean> | boolean) => {
    await until(what, reached, 60_000, 20);
    expect(await stack.stopAgent('SIGKILL')).toBe(-1);
    await stack.startAgent();
  };
  const killAt = (id: string, step: RegExp) => killWhen(`the console shows ${step}`, async () => step.test(await logs(id)));
  /** Whatever runs under this stack's label belongs to an active instance. */
  const noStrayContainers = async () => {
    for (const [name, state] of await stack.containers()) {
      if (state !== 'running') continue;
      const id = name.replace(/^wharf-/, '');
      expect((await stack.show(id)).status, `${name} runs`).toBe('active');
    }
  };

  it('during the image pull: the instance fails, naming the step, and nothing of it runs', async () => {
    const { port } = hanging.address() as { port: number };
    const { id } = await stack.launch({ name: 'kill-pull', image: `127.0.0.1:${port}/wharf/never:1`, routing: { mode: 'none' }, command: 'sleep 3600' });
    await killAt(id, /not on this host: pulling it/);
    const view = await stack.waitFor(id, ['failed', 'active', 'stopped'], 30_000);
    expect(view.status).toBe('failed');
    expect(view.statusReason).toMatch(/the agent was stopped before it created it \(image check or pull\)/);
    expect(await inspect(`wharf-${id}`)).toBeUndefined();
    await noStrayContainers();
  }, 120_000);

  it('during the readiness wait: the restarted agent adopts the starting app and it becomes active, on its one container', async () => {
    const { id } = await stack.launch({ name: 'kill-ready', routing: { mode: 'https', port: 8080 }, command: httpd('ready', 6) });
    await killAt(id, /waiting for the app to answer on port 8080/);
    const before = await inspect(`wharf-${id}`);
    const view = await stack.waitFor(id, ['active', 'failed'], 60_000);
    expect(view.status, view.statusReason ?? '').toBe('active');
    const after = await inspect(`wharf-${id}`);
    expect(after?.Id).toBe(before?.Id);
    expect(after?.State.StartedAt).toBe(before?.State.StartedAt);
    const token = await stack.token(id);
    await until('the gateway serves it', async () => (await stack.appGet(id, token).catch(() => undefined))?.body === 'ready\n', 10_000, 100);
    await noStrayContainers();
  }, 120_000);

  let source = '';
  let sourceSnapshot = { id: '', sha256: '' };

  it('during the snapshot upload of a stop: the restarted agent stops it again and uploads whole; no partial snapshot on either side', async () => {
    source = (await stack.launch({ name: 'kill-upload', routing: { mode: 'none' }, command: `sh -c 'head -c 120000000 /dev/urandom > ${WS}/big.bin && echo ok > ${WS}/small.txt && exec sleep 3600'` })).id;
    await stack.waitFor(source, 'active', 30_000);
    await until('the workspace is written', async () => (await docker('exec', `wharf-${source}`, 'cat', `${WS}/small.txt`)).stdout === 'ok\n', 60_000, 250);
    const first = await stack.cli(['snapshot', source, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const previous = JSON.parse(first.stdout) as { id: string; sha256: string };
    // Changed after the first snapshot: the stop's snapshot is a new one.
    expect((await docker('exec', `wharf-${source}`, 'sh', '-c', `echo changed > ${WS}/small.txt`)).code).toBe(0);

    expect((await stack.cli(['stop', source])).code).toBe(0);
    // Killed once control is writing the upload (its temp file exists): the cut-off upload must leave nothing behind.
    const store = join(stack.home, 'snapshots');
    await killWhen('control receives the upload', () => readdirSync(store).some((f) => f.startsWith('.tmp-')));
    const view = await stack.waitFor(source, ['stopped', 'failed'], 120_000);
    expect(view.status, view.statusReason ?? '').toBe('stopped');
    const snaps = await stack.snapshots(source);
    expect(snaps).toHaveLength(2);
    expect(snaps.map((s) => s.id)).toContain(previous.id);
    for (const s of snaps) expect(await stack.snapshotBytesSha256(s.id)).toBe(s.sha256);
    // Control's store holds exactly the two blobs: no temp file of the cut-off upload.
    expect(readdirSync(join(stack.home, 'snapshots')).sort()).toEqual(snaps.map((s) => s.sha256).sort());
    expect(await inspect(`wharf-${source}`)).toBeUndefined();
    sourceSnapshot = snaps.find((s) => s.id !== previous.id)!;
  }, 240_000);

  it('during the workspace restore of a clone: the clone fails, naming the step, its container is gone, the source snapshot intact', async () => {
    expect(source).not.toBe('');
    const { id } = await stack.launch({ name: 'kill-restore', routing: { mode: 'none' }, command: 'sleep 3600', workspace: { path: WS, restoreFrom: source } });
    await killAt(id, /restore: downloading snapshot/);
    const view = await stack.waitFor(id, ['failed', 'active'], 60_000);
    expect(view.status).toBe('failed');
    expect(view.statusReason).toMatch(/the agent was stopped while preparing the container \(create, workspace restore or injected files\): it never started/);
    await until('its container is removed', async () => (await inspect(`wharf-${id}`)) === undefined, 10_000, 100);
    expect(await stack.snapshots(id)).toEqual([]);
    expect(await stack.snapshotBytesSha256(sourceSnapshot.id)).toBe(sourceSnapshot.sha256);
    await noStrayContainers();
    // A clone the agent is left to finish restores the source whole.
    const { id: again } = await stack.launch({ name: 'restore-again', routing: { mode: 'none' }, command: 'sleep 3600', workspace: { path: WS, restoreFrom: source } });
    await stack.waitFor(again, 'active', 60_000);
    expect((await docker('exec', `wharf-${again}`, 'cat', `${WS}/small.txt`)).stdout).toBe('changed\n');
  }, 240_000);
});

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, inspect, startStack, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 19, faults: the Docker Engine restarted under running apps, with real control,
 * gateway and agent processes. The test stops this machine's dockerd (SIGTERM, as a service
 * manager would) and starts it again with the same command line, so the Engine the rest of
 * the suite uses is the same before and after (test files run one at a time).
 * - Restarted as CI runs it (no live-restore), the Engine stops every container on its way
 *   down: the agent, which lost its waits on them, inspects them once the Engine is back and
 *   ends each instance `failed` with the Engine named, not a made-up exit. The agent process
 *   lives on, and a new launch works.
 * - Restarted with `--live-restore` (into an Engine with it too: one without it stops the
 *   containers it finds running), containers survive: the agent keeps its app `active`,
 *   follows its console again, and the gateway serves it throughout. The Engine is started as
 *   CI started it afterwards.
 */

const httpd = (text: string) => `sh -c 'mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www'`;
const LOG = '/tmp/wharf-ci-dockerd.log';

/** The running dockerd's command line, stopped with SIGTERM and started again with `flags` instead of its own `--live-restore`. */
async function restartEngine(flags: string[] = []): Promise<void> {
  const pid = Number(execFileSync('pidof', ['dockerd']).toString().trim().split(/\s+/)[0]);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  await until('dockerd stopped', () => !existsSync(`/proc/${pid}`), 90_000, 200);
  const log = openSync(LOG, 'a');
  spawn(argv[0], [...argv.slice(1).filter((a) => a !== '--live-restore'), ...flags], { detached: true, stdio: ['ignore', log, log] }).unref();
  await until('dockerd answers again', async () => (await docker('info', '--format', '{{.ServerVersion}}')).code === 0, 60_000, 250);
}

describe('faults: the Docker Engine restarted under running apps', () => {
  let stack: Stack;
  let liveRestore = false;

  beforeAll(async () => {
    stack = await startStack();
  }, 90_000);
  afterAll(async () => {
    // Leave the Engine as CI started it.
    if (liveRestore) await restartEngine();
    await stack?.stop();
  }, 120_000);

  const served = async (id: string, token: string, text: string) => {
    try {
      const r = await stack.appGet(id, token);
      return r.status === 200 && r.body === `${text}\n`;
    } catch {
      return false;
    }
  };

  it('an Engine restarted without live-restore stops the apps: each ends failed with the Engine named, the agent lives on, and a new launch works', async () => {
    const ids = [];
    for (const text of ['one', 'two']) ids.push((await stack.launch({ routing: { mode: 'https', port: 8080 }, command: httpd(text) })).id);
    for (const id of ids) await stack.waitFor(id, 'active', 30_000);

    await restartEngine();
    for (const id of ids) {
      const view = await stack.waitFor(id, ['failed', 'stopped'], 60_000);
      expect(view.status, id).toBe('failed');
      // Stopped by the Engine on its way down: the agent saw the exit, or lost its wait and found it exited once the Engine was back.
      expect(view.statusReason, id).toMatch(/^the Docker Engine (went away as the app exited \(an Engine stopping stops its containers\)|stopped it \(the Engine went away and came back\)): exited with code \d+/);
      // Its workspace was snapshotted once the Engine was back: nothing failed for want of it.
      expect(view.statusReason, id).not.toMatch(/snapshot/);
      // Its container is kept for inspection, exited, as with any app that exits by itself.
      expect((await inspect(`wharf-${id}`))?.State.Running, id).toBe(false);
    }
    expect(stack.agent?.child.exitCode).toBeNull();
    const said = `${stack.agent?.stdout()}${stack.agent?.stderr()}`;
    expect(said).toMatch(/lost the Docker Engine \(its event stream ended\)/);
    expect(said).toMatch(/the Docker Engine answers again/);

    const { id } = await stack.launch({ routing: { mode: 'https', port: 8080 }, command: httpd('after') });
    await stack.waitFor(id, 'active', 30_000);
    const token = await stack.token(id);
    await until('the gateway serves the app launched after the restart', () => served(id, token, 'after'), 10_000, 100);
    expect((await stack.cli(['stop', id])).code).toBe(0);
    await stack.waitFor(id, 'stopped', 30_000);
  }, 240_000);

  it('an Engine restarted with live-restore keeps the apps: the agent keeps them active and follows them again, the gateway serves them', async () => {
    // This restart makes the Engine one that keeps containers through its next restart.
    await restartEngine(['--live-restore']);
    liveRestore = true;
    expect((await docker('info', '--format', '{{.LiveRestoreEnabled}}')).stdout.trim()).toBe('true');
    const { id } = await stack.launch({ routing: { mode: 'https', port: 8080 }, command: "sh -c 'while true; do echo tick; sleep 0.5; done & mkdir -p /www && echo kept > /www/index.html && exec httpd -f -p 8080 -h /www'" });
    await stack.waitFor(id, 'active', 30_000);
    const token = await stack.token(id);
    await until('the gateway serves the app', () => served(id, token, 'kept'), 10_000, 100);
    const before = await inspect(`wharf-${id}`);

    // Restarted into an Engine with live-restore too: one without it stops what it finds running.
    await restartEngine(['--live-restore']);
    const after = await inspect(`wharf-${id}`);
    expect(after?.State.Running, JSON.stringify(after?.State)).toBe(true);
    expect(after?.State.StartedAt).toBe(before?.State.StartedAt);
    await until('the agent follows the app again', async () => /the Docker Engine is back and the container survived/.test((await stack.cli(['logs', id])).stdout), 30_000, 250);
    // Its console flows again: new ticks after the note.
    await until('new console lines after the restart', async () => {
      const lines = (await stack.cli(['logs', id])).stdout.split('\n');
      const note = lines.findIndex((l) => /container survived/.test(l));
      return note >= 0 && lines.slice(note + 1).some((l) => /tick/.test(l));
    }, 15_000, 250);
    await sleep(1_000);
    expect((await stack.show(id)).status).toBe('active');
    await until('the gateway serves the app after the restart', () => served(id, token, 'kept'), 10_000, 100);
    expect(stack.agent?.child.exitCode).toBeNull();
  }, 240_000);
});

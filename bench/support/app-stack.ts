import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlProcess } from '../../test/support/control-process.ts';
import { runWharf, spawnCollect, WHARF, type Running } from '../../test/support/tcp.ts';
import { adopt } from './children.ts';

/*
 * What the app benches (launch, snapshot) run against: a real `wharf control` and a real
 * `wharf agent` on the local Docker Engine, one queue, the bench as the admin over control's
 * API. Containers and volumes carry `label`, so `stop()` removes exactly this run's.
 */

export interface AppStack {
  url: string;
  /** Control's API with the admin token: the answer's JSON; a non-2xx answer throws. */
  api(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export async function startAppStack(o: { home: string; queue: string; label: string; image: string; agentEnv?: Record<string, string> }): Promise<AppStack> {
  const env = { ...process.env, WHARF_HOME: o.home, WHARF_URL: '', WHARF_TOKEN: '' };
  execFileSync(new URL('../../images/build.sh', import.meta.url).pathname, [o.image], { stdio: 'ignore' });
  let control: Running | undefined;
  let agent: Running | undefined;
  const stop = async () => {
    await agent?.stop();
    await control?.stop();
    for (const [list, rm] of [[['ps', '-aq'], ['rm', '-f']], [['volume', 'ls', '-q'], ['volume', 'rm', '-f']]]) {
      try {
        const ids = execFileSync('docker', [...list, '--filter', `label=${o.label}`], { encoding: 'utf8' }).trim();
        if (ids) execFileSync('docker', [...rm, ...ids.split('\n')], { stdio: 'ignore' });
      } catch { /* nothing to remove */ }
    }
  };
  try {
    control = await startControlProcess(env, ['--log-level', 'warn']);
    adopt(control.child);
    const url = (JSON.parse(readFileSync(join(o.home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    const token = readFileSync(join(o.home, 'admin.token'), 'utf8').trim();
    const added = await runWharf(['agents', 'add', o.queue, '--queues', o.queue], env);
    if (added.code !== 0) throw new Error(`wharf agents add: ${added.stderr}`);
    const envFile = join(o.home, 'agent.env');
    writeFileSync(envFile, added.stdout);
    agent = spawnCollect(process.execPath, [WHARF, 'agent', '--env-file', envFile, '--metrics-listen', 'off', '--log-level', 'warn'], {
      ...env, WHARF_LABELS: o.label, WHARF_STOP_TIMEOUT_S: '1', ...o.agentEnv,
    });
    adopt(agent.child);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    return { url, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteStats } from '../../gateway/metrics/route-stats.ts';
import { StatsPusher } from '../../gateway/metrics/stats-pusher.ts';
import { runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';
import { startControlProcess } from '../support/control-process.ts';

// A real `wharf control`; a test acting as an agent and as a gateway over HTTP; `wharf logs` as a process.
describe('console followed live and metrics history, against a real control', () => {
  let home: string;
  let control: Running | undefined;
  let url = '';
  let token = '';
  let agentAuth = '';
  let id = '';
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' });
  const call = async (method: string, path: string, body?: unknown, auth = `Bearer ${token}`) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const append = async (...texts: string[]) => {
    const res = await call('POST', `/api/v1/agent/instances/${id}/console`, { lines: texts.map((text) => ({ text })) }, agentAuth);
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-console-'));
    const runFile = join(home, 'run', 'control.json');
    control = await startControlProcess(env());
    url = (JSON.parse(readFileSync(runFile, 'utf8')) as { url: string }).url;
    token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    // The agent is online before the launch: a queue that no agent serves gets a console line.
    const agent = (await call('POST', '/api/v1/agents', { name: 'a1', queues: ['default'] })).json;
    agentAuth = `Bearer ${agent.key}:${agent.secret}`;
    expect((await call('POST', '/api/v1/agent/heartbeat', {}, agentAuth)).status).toBe(200);
    const launched = await call('POST', '/api/v1/instances', { app: 'container', name: 'logs', image: 'wharf/busybox:local', command: 'sh', routing: { mode: 'https', port: 8080 } });
    expect(launched.status).toBe(201);
    id = launched.json.id;
    expect((await call('POST', '/api/v1/agent/lease?wait=0', undefined, agentAuth)).json.instance).toBe(id);
  }, 30_000);
  afterAll(async () => {
    await control?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('wharf logs prints the console, and -f follows it live until Ctrl-C (exit 0)', async () => {
    await append('pulling image', 'container started');
    const logs = await runWharf(['logs', id], env());
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('pulling image\ncontainer started\n');
    const json = await runWharf(['logs', id, '--since', '1', '--json'], env());
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ seq: 2, stream: 'event', text: 'container started' });

    const missing = await runWharf(['logs', 'no-such-instance'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CTL_NOT_FOUND/);

    const follow = spawnCollect(process.execPath, [WHARF, 'logs', id, '-f'], env());
    try {
      await until('follow prints the existing lines', () => follow.stdout().includes('container started'), 15_000);
      await append('hello from the app');
      await until('follow prints a live line', () => follow.stdout().includes('hello from the app'), 5_000);
      await append('second live line');
      await until('follow prints the next', () => follow.stdout().includes('second live line'), 5_000);
      expect(follow.stdout()).toBe('pulling image\ncontainer started\nhello from the app\nsecond live line\n');
      follow.child.kill('SIGINT');
      expect(await follow.exited).toBe(0);
    } finally {
      await follow.stop();
    }
  }, 30_000);

  it('takes deltas pushed by a gateway and samples from the agent, and serves them', async () => {
    const gw = (await call('POST', '/api/v1/gateways', { name: 'gw1' })).json as { key: string };
    const stats = new RouteStats(id);
    stats.record(200, 2_000, 10, 100);
    stats.record(500, 8_000, 10, 100);
    const pusher = new StatsPusher({ control: url, key: gw.key, stats: () => [stats] });
    await pusher.tick();
    await pusher.stop();
    expect([pusher.pushed, pusher.dropped]).toEqual([1, 0]);
    const sample = await call('POST', `/api/v1/agent/instances/${id}/samples`, { cpuPercent: 12.5, memoryBytes: 1 << 20 }, agentAuth);
    expect(sample.json).toEqual({ recorded: true });
    const series = (await call('GET', `/api/v1/instances/${id}/metrics`)).json;
    expect(series.resolutionMs).toBe(10_000);
    expect(series.requests.reduce((a: number, b: number) => a + b, 0)).toBe(2);
    expect(series.errors.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    expect(series.cpuPercent.filter((v: number | null) => v !== null)).toEqual([12.5]);
    expect(series.memoryBytes.filter((v: number | null) => v !== null)).toEqual([1 << 20]);
  });
});

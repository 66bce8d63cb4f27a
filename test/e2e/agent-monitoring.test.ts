import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 6, "Monitoring", agent side: real `wharf control`, gateway and `wharf agent` (samples
 * every second) on the real Docker Engine. A busybox CPU loop limited to half a core reads a
 * high CPU % (of its limit) and an idle `sleep 600` reads ~0, both in control's metrics history
 * (`GET /api/v1/instances/:id/metrics`) and on the agent's /metrics; the series of an app go
 * from /metrics when it is stopped.
 */

interface Series { t: number[]; cpuPercent: (number | null)[]; memoryBytes: (number | null)[]; networkBytesPerS: (number | null)[] }

describe('the agent samples its apps', () => {
  let stack: Stack;
  let busy: InstanceView;
  let idle: InstanceView;
  let metricsUrl = '';

  beforeAll(async () => {
    stack = await startStack({ agentEnv: { WHARF_SAMPLE_INTERVAL_S: '1' } });
    const run = JSON.parse(readFileSync(join(stack.home, 'run', `agent-${stack.agentId}.json`), 'utf8')) as { metrics: string };
    metricsUrl = `http://${run.metrics}/metrics`;
    busy = await stack.launch({ name: 'busy', routing: { mode: 'none' }, command: "sh -c 'while :; do :; done'", containerArgs: '--cpus 0.5' });
    idle = await stack.launch({ name: 'idle', routing: { mode: 'none' }, command: 'sleep 600' });
    await stack.waitFor(busy.id, 'active', 60_000);
    await stack.waitFor(idle.id, 'active', 60_000);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const history = async (id: string): Promise<Series> => {
    const res = await stack.api('GET', `/api/v1/instances/${id}/metrics`);
    expect(res.status).toBe(200);
    return res.json as Series;
  };
  const values = (s: Series) => s.cpuPercent.filter((v): v is number => v !== null);
  const agentMetrics = async () => (await fetch(metricsUrl)).text();
  const gauge = (text: string, name: string, labels: string) => {
    const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  it('control\'s metrics history: the CPU loop high, the idle app ~0, memory reported', async () => {
    let b: Series | undefined;
    let i: Series | undefined;
    await until('both apps have CPU samples in control\'s history', async () => {
      b = await history(busy.id);
      i = await history(idle.id);
      return values(b).length > 0 && values(i).length > 0;
    }, 30_000, 500);
    // A 10 s point is the mean of its samples; the first sample of the loop may catch it starting.
    await until('the busy app reads high', async () => Math.max(...values(await history(busy.id))) > 60, 20_000, 500);
    b = await history(busy.id);
    i = await history(idle.id);
    expect(Math.max(...values(b))).toBeGreaterThan(60);
    expect(Math.max(...values(b))).toBeLessThanOrEqual(100);
    expect(Math.max(...values(i))).toBeLessThan(5);
    expect(i.memoryBytes.some((v) => v !== null && v > 0)).toBe(true);
    // Rates need two samples of a container; the first one has none.
    await until('network rates in the history', async () => (await history(idle.id)).networkBytesPerS.some((v) => v !== null), 10_000, 500);
  }, 60_000);

  it('the agent\'s /metrics: per-instance gauges, the CPU loop high and the idle app ~0', async () => {
    let text = '';
    await until('both apps are on the agent\'s /metrics', async () => {
      text = await agentMetrics();
      return gauge(text, 'wharf_agent_app_cpu_percent', `instance="${busy.id}"`) !== undefined
        && gauge(text, 'wharf_agent_app_cpu_percent', `instance="${idle.id}"`) !== undefined
        && gauge(text, 'wharf_agent_app_network_bytes_per_second', `instance="${idle.id}",direction="rx"`) !== undefined;
    }, 30_000, 500);
    await until('the busy app reads high on /metrics', async () => (gauge(text = await agentMetrics(), 'wharf_agent_app_cpu_percent', `instance="${busy.id}"`) ?? 0) > 60, 20_000, 500);
    expect(gauge(text, 'wharf_agent_app_cpu_percent', `instance="${idle.id}"`)).toBeLessThan(5);
    expect(gauge(text, 'wharf_agent_app_memory_bytes', `instance="${busy.id}"`)).toBeGreaterThan(0);
    expect(gauge(text, 'wharf_agent_app_memory_limit_bytes', `instance="${busy.id}"`)).toBeGreaterThan(0);
    for (const direction of ['rx', 'tx']) expect(gauge(text, 'wharf_agent_app_network_bytes_per_second', `instance="${idle.id}",direction="${direction}"`)).toBeGreaterThanOrEqual(0);
    for (const direction of ['read', 'write']) expect(gauge(text, 'wharf_agent_app_block_io_bytes_per_second', `instance="${idle.id}",direction="${direction}"`)).toBeGreaterThanOrEqual(0);
    // No GPUs on this host: no GPU series.
    expect(text).not.toMatch(/^wharf_agent_app_gpu_percent\{/m);
  }, 60_000);

  it('an app that ends loses its series on /metrics', async () => {
    const stop = await stack.cli(['stop', idle.id]);
    expect(stop.code, stop.stderr).toBe(0);
    await stack.waitFor(idle.id, 'stopped', 30_000);
    await until('the stopped app\'s series are gone', async () => !(await agentMetrics()).includes(`instance="${idle.id}"`), 10_000, 250);
    expect(await agentMetrics()).toContain(`instance="${busy.id}"`);
  }, 60_000);
});

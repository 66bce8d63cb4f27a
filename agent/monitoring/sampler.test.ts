import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResourceSampleReport } from '../../protocol/resource-sample.ts';
import { AgentMetrics } from '../agent-metrics.ts';
import { ResourceSampler, type SampledApp } from './sampler.ts';

/*
 * The sampling loop against a stand-in Engine that answers with the real stats documents of
 * fixtures/ (one container answers slowly, one fails), the real AgentMetrics registry, and a
 * recording `report`.
 */

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));

function fakeDocker(behaviour: Record<string, { docs: unknown[]; hostConfig: unknown; delayMs?: number; fail?: boolean }>) {
  const calls: string[] = [];
  const docker = {
    getContainer(id: string) {
      const b = behaviour[id];
      let n = 0;
      return {
        async inspect() {
          return { HostConfig: b.hostConfig };
        },
        stats() {
          calls.push(id);
          if (b.fail) return Promise.reject(new Error('no such container'));
          const doc = b.docs[Math.min(n++, b.docs.length - 1)];
          return new Promise((resolve) => setTimeout(() => resolve(doc), b.delayMs ?? 0));
        },
      };
    },
  };
  // One container object per id, so that the n-th call gets the n-th document.
  const cache = new Map<string, unknown>();
  return { calls, docker: { getContainer: (id: string) => cache.get(id) ?? (cache.set(id, docker.getContainer(id)), cache.get(id)) } as unknown as Docker };
}

describe('the resource sampler', () => {
  it('samples active apps concurrently, reports to control and /metrics, drops the series of ended apps', async () => {
    const { docker, calls } = fakeDocker({
      c1: { docs: [fixture('cpu-stats-1'), fixture('cpu-stats-2')], hostConfig: fixture('cpu-hostconfig').HostConfig },
      c2: { docs: [fixture('net-stats-1'), fixture('net-stats-2')], hostConfig: fixture('net-hostconfig').HostConfig },
      slow: { docs: [fixture('idle-stats-1')], hostConfig: fixture('idle-hostconfig').HostConfig, delayMs: 60_000 },
      gone: { docs: [], hostConfig: {}, fail: true },
    });
    const apps = new Map<string, SampledApp>([
      ['busy', { phase: 'active', containerId: 'c1' }],
      ['net', { phase: 'active', containerId: 'c2' }],
      ['slow', { phase: 'active', containerId: 'slow' }],
      ['gone', { phase: 'active', containerId: 'gone' }],
      ['new', { phase: 'starting', containerId: undefined }],
    ]);
    const reports: [string, ResourceSampleReport][] = [];
    const metrics = new AgentMetrics();
    const sampler = new ResourceSampler({
      docker, apps, metrics, log: pino({ level: 'silent' }), intervalS: 1,
      report: async (id, s) => void reports.push([id, s]),
      gpus: { available: false, read: async () => [] },
    });

    const t0 = Date.now();
    await sampler.tick();
    await sampler.tick();
    // The slow container is waited for at most one interval per tick, and not asked again while under way.
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(calls.filter((c) => c === 'slow')).toHaveLength(1);
    expect(calls.filter((c) => c === 'c1')).toHaveLength(2);

    const busy = reports.filter(([id]) => id === 'busy').map(([, s]) => s);
    expect(busy).toHaveLength(2);
    expect(busy[1].cpuPercent).toBeGreaterThan(90);
    expect(busy[1].memoryLimitBytes).toBe(64 * 1024 * 1024);
    expect(busy[1].networkBytesPerS).toBe(0);
    expect(busy[1].gpus).toBeUndefined();
    const net = reports.filter(([id]) => id === 'net').map(([, s]) => s)[1];
    expect(net.networkRxBytesPerS).toBeGreaterThan(1e6);
    expect(net.networkBytesPerS).toBe(Math.round((net.networkRxBytesPerS! + net.networkTxBytesPerS!) * 10) / 10);
    expect(reports.some(([id]) => id === 'gone' || id === 'new')).toBe(false);

    let text = await metrics.registry.metrics();
    expect(text).toMatch(/wharf_agent_app_cpu_percent\{instance="busy"\} (9\d|100)/);
    expect(text).toMatch(/wharf_agent_app_memory_limit_bytes\{instance="busy"\} 67108864/);
    expect(text).toMatch(/wharf_agent_app_network_bytes_per_second\{instance="net",direction="rx"\} \d{7,}/);
    expect(text).toMatch(/wharf_agent_app_block_io_bytes_per_second\{instance="busy",direction="write"\} 0/);

    // The busy app ends: its series go at the next tick.
    apps.delete('busy');
    await sampler.tick();
    text = await metrics.registry.metrics();
    expect(text).not.toContain('instance="busy"');
    expect(text).toContain('instance="net"');
    await sampler.stop();
  }, 20_000);

  it('GPUs: the assigned ones per sample, gpuPercent the busiest, series removed with the app', async () => {
    const hostConfig = { ...fixture('idle-hostconfig').HostConfig, DeviceRequests: [{ Driver: '', Count: 0, DeviceIDs: ['1', 'GPU-2'], Capabilities: [['gpu']] }] };
    const { docker } = fakeDocker({ g: { docs: [fixture('idle-stats-1'), fixture('idle-stats-2')], hostConfig } });
    const apps = new Map<string, SampledApp>([['gpu-app', { phase: 'active', containerId: 'g' }]]);
    const reports: ResourceSampleReport[] = [];
    const metrics = new AgentMetrics();
    let reads = 0;
    const sampler = new ResourceSampler({
      docker, apps, metrics, log: pino({ level: 'silent' }), intervalS: 1,
      report: async (_id, s) => void reports.push(s),
      gpus: {
        available: true,
        read: async () => {
          reads++;
          return [
            { index: 0, uuid: 'GPU-0', utilizationPercent: 99 },
            { index: 1, uuid: 'GPU-1', utilizationPercent: 20, memoryUsedBytes: 1, memoryTotalBytes: 2 },
            { index: 2, uuid: 'GPU-2', utilizationPercent: 35 },
            { index: 3, uuid: 'GPU-3' },
          ];
        },
      },
    });
    await sampler.tick(); // learns the device requests
    await sampler.tick();
    expect(reads).toBe(1);
    const last = reports.at(-1)!;
    expect(last.gpus?.map((g) => g.index)).toEqual([1, 2]);
    expect(last.gpuPercent).toBe(35);
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/wharf_agent_app_gpu_percent\{instance="gpu-app",gpu="2"\} 35/);
    expect(text).not.toMatch(/gpu="0"/);
    apps.set('gpu-app', { phase: 'stopping', containerId: 'g' });
    await sampler.tick();
    text = await metrics.registry.metrics();
    expect(text).not.toContain('gpu-app');
  });
});

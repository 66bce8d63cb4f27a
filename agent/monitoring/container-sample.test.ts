import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockTotals, containerSample, cpuLimitCores, cpuLimitsOf, cpusetSize, memoryUsed, type DockerStats } from './container-sample.ts';

/*
 * Fixtures: real `GET /v1.41/containers/:id/stats?stream=false` documents (and the
 * HostConfig of `GET /containers/:id/json`) captured from this machine's Docker Engine
 * 20.10.24 (cgroup v1, cgroupfs driver, 2 cores), two per container about 4-6 s apart, of
 * wharf/busybox:local containers:
 *   cpu   `--cpus 0.5 -m 64m sh -c 'while :; do :; done'`
 *   idle  `sleep 600`
 *   net   `sh -c 'while :; do wget -q -O /dev/null http://<httpd container>:8080/big; sleep 0.2; done'`
 *         (an 8 MiB file from a busybox httpd in a second container, over the bridge)
 * This kernel accounts no block I/O to the containers' blkio cgroups (io_service_bytes_recursive
 * is empty), so block I/O rates read 0 here; the Read/Write entries are tested on the blkio
 * block of a real stats document posted in docker/kitematic PR #2542 (see below).
 */

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));
const pair = (name: string) => ({
  first: fixture(`${name}-stats-1`) as DockerStats,
  second: fixture(`${name}-stats-2`) as DockerStats,
  limits: cpuLimitsOf(fixture(`${name}-hostconfig`).HostConfig),
});

describe('a container sample from two real stats documents', () => {
  it('a CPU loop under --cpus 0.5 uses half a core: ~100 % of its limit', () => {
    const { first, second, limits } = pair('cpu');
    expect(limits.nanoCpus).toBe(500_000_000);
    const s = containerSample(second, first, limits, 2);
    // docker stats would show ~50 % (of one core): half a core.
    expect(s.cpuCores).toBeGreaterThan(0.45);
    expect(s.cpuCores).toBeLessThan(0.55);
    expect(s.cpuLimitCores).toBe(0.5);
    expect(s.cpuPercent).toBeGreaterThan(90);
    expect(s.cpuPercent).toBeLessThanOrEqual(100);
    // The first document alone: CPU from its own precpu_stats, no rates yet.
    const alone = containerSample(first, undefined, limits, 2);
    expect(alone.cpuPercent).toBeGreaterThan(90);
    expect(alone.networkBytesPerS).toBeUndefined();
    expect(alone.blockReadBytesPerS).toBeUndefined();
  });

  it('memory: usage less total_inactive_file, and the -m 64m limit', () => {
    const { first, second, limits } = pair('cpu');
    const s = containerSample(second, first, limits, 2);
    const m = second.memory_stats!;
    expect(s.memoryBytes).toBe(m.usage! - m.stats!.total_inactive_file);
    expect(s.memoryBytes).toBeGreaterThan(100 * 1024);
    expect(s.memoryBytes).toBeLessThan(16 * 1024 * 1024);
    expect(s.memoryLimitBytes).toBe(64 * 1024 * 1024);
  });

  it('an idle container reads ~0 % of the whole host, no traffic to speak of', () => {
    const { first, second, limits } = pair('idle');
    expect(limits.nanoCpus).toBe(0);
    const s = containerSample(second, first, limits, 2);
    expect(s.cpuLimitCores).toBe(second.cpu_stats!.online_cpus);
    expect(s.cpuPercent).toBeLessThan(1);
    expect(s.networkBytesPerS).toBeLessThan(1000);
    expect(s.memoryLimitBytes).toBeGreaterThan(64 * 1024 * 1024); // no limit: the host's memory
  });

  it('a downloading container: megabytes per second received, little sent', () => {
    const { first, second, limits } = pair('net');
    const s = containerSample(second, first, limits, 2);
    const seconds = (Date.parse(second.read!) - Date.parse(first.read!)) / 1000;
    const rx = (second.networks!.eth0.rx_bytes! - first.networks!.eth0.rx_bytes!) / seconds;
    expect(s.networkRxBytesPerS).toBeCloseTo(rx, 0);
    expect(s.networkRxBytesPerS).toBeGreaterThan(1e6);
    expect(s.networkTxBytesPerS).toBeLessThan(s.networkRxBytesPerS! / 100);
    expect(s.networkBytesPerS).toBeCloseTo(s.networkRxBytesPerS! + s.networkTxBytesPerS!, 0);
    expect(s.blockReadBytesPerS).toBe(0);
    expect(s.blockWriteBytesPerS).toBe(0);
  });

  it('a counter that went down (restart) gives no rate; the CPU falls back to precpu_stats', () => {
    const { first, second, limits } = pair('net');
    const s = containerSample(first, second, limits, 2); // "previous" is later: every counter went down
    expect(s.networkBytesPerS).toBeUndefined();
    expect(s.blockReadBytesPerS).toBeUndefined();
    // CPU time went down too: the document's own precpu_stats give the CPU instead.
    expect(s.cpuPercent).toBe(containerSample(first, undefined, limits, 2).cpuPercent);
    const restarted = { ...second, read: new Date(Date.parse(second.read!) - 60_000).toISOString() };
    const later = containerSample(first, restarted, limits, 2);
    expect(later.networkRxBytesPerS).toBeUndefined();
    expect(later.cpuPercent).toBeGreaterThanOrEqual(0); // from first.precpu_stats
  });

  it('cgroup v2 memory: usage less inactive_file', () => {
    // The key set of a cgroup v2 host's memory_stats.stats (moby daemon/stats_unix.go; no total_*).
    expect(memoryUsed({ usage: 10_000_000, limit: 1, stats: { anon: 6_000_000, file: 4_000_000, inactive_file: 3_000_000, active_file: 1_000_000 } })).toBe(7_000_000);
    expect(memoryUsed({ usage: 1000, stats: { inactive_file: 5000 } })).toBe(1000);
    expect(memoryUsed({})).toBeUndefined();
  });

  it('block I/O: Read and Write entries per device, not Total/Sync/Async (real blkio block)', () => {
    // blkio_stats.io_service_bytes_recursive of a real stats document posted in
    // https://github.com/docker-archive-public/docker.kitematic/pull/2542 (cgroup v1).
    const blkio = [
      { major: 254, minor: 0, op: 'Read', value: 63508480 },
      { major: 254, minor: 0, op: 'Write', value: 200704 },
      { major: 254, minor: 0, op: 'Sync', value: 0 },
      { major: 254, minor: 0, op: 'Async', value: 63709184 },
      { major: 254, minor: 0, op: 'Total', value: 63709184 },
    ];
    expect(blockTotals({ blkio_stats: { io_service_bytes_recursive: blkio } })).toEqual({ read: 63508480, write: 200704 });
    // cgroup v2 spells the ops in lower case; a null list is "not measured".
    expect(blockTotals({ blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 5 }, { op: 'write', value: 7 }] } })).toEqual({ read: 5, write: 7 });
    expect(blockTotals({ blkio_stats: { io_service_bytes_recursive: null } })).toBeUndefined();
    const { first, second, limits } = pair('cpu');
    const withIo = (d: DockerStats, add: number) => ({ ...d, blkio_stats: { io_service_bytes_recursive: blkio.map((e) => ({ ...e, value: e.value + add })) } });
    const s = containerSample(withIo(second, 1_000_000), withIo(first, 0), limits, 2);
    const seconds = (Date.parse(second.read!) - Date.parse(first.read!)) / 1000;
    expect(s.blockReadBytesPerS).toBeCloseTo(1_000_000 / seconds, 0);
    expect(s.blockWriteBytesPerS).toBeCloseTo(1_000_000 / seconds, 0);
  });

  it('CPU limits: NanoCpus, quota/period, cpuset, never more than the online cores', () => {
    expect(cpuLimitCores({ nanoCpus: 500_000_000 }, 2)).toBe(0.5);
    expect(cpuLimitCores({ cpuQuota: 150_000, cpuPeriod: 100_000 }, 4)).toBe(1.5);
    expect(cpuLimitCores({ cpuQuota: 50_000, cpuPeriod: 0 }, 4)).toBe(0.5);
    expect(cpuLimitCores({ cpusetCpus: '0-1' }, 8)).toBe(2);
    expect(cpuLimitCores({ nanoCpus: 8e9 }, 2)).toBe(2);
    expect(cpuLimitCores({}, 2)).toBe(2);
    expect(cpusetSize('0-3,6')).toBe(5);
    expect(cpusetSize('')).toBeUndefined();
    expect(cpusetSize('x')).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HostMonitor, memAvailable } from './host-monitor.ts';

describe('host monitoring', () => {
  it('reads MemAvailable from this machine\'s real /proc/meminfo', () => {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const bytes = memAvailable(text)!;
    const total = Number(/^MemTotal:\s+(\d+)/m.exec(text)![1]) * 1024;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(total);
    expect(memAvailable('MemTotal: 1 kB\n')).toBeUndefined();
  });

  it('samples CPU, memory and the free disk of a path', () => {
    const m = new HostMonitor(tmpdir());
    const r = m.sample();
    expect(r.cpus).toBeGreaterThan(0);
    expect(r.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(r.cpuPercent).toBeLessThanOrEqual(100);
    expect(r.memoryAvailableBytes).toBeGreaterThan(0);
    expect(r.diskFreeBytes).toBeGreaterThan(0);
    expect(r.diskTotalBytes).toBeGreaterThanOrEqual(r.diskFreeBytes!);
    expect(new HostMonitor('/no/such/dir').sample().diskFreeBytes).toBeNull();
  });
});

import { readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

/*
 * The apps server's own resources, reported with every heartbeat (the agents list shows
 * them) and on /metrics: available memory, CPU busy %, free disk of Docker's data root.
 */

export interface HostResources {
  cpus: number;
  /** Busy share of all cores since the previous sample, 0 to 100. */
  cpuPercent: number;
  loadAverage: number;
  memoryTotalBytes: number;
  /** MemAvailable (what can be given to apps without swapping), else free memory. */
  memoryAvailableBytes: number;
  /** Docker's data root (DockerRootDir); null when the Engine is not on this host's file system. */
  diskPath: string | null;
  diskFreeBytes: number | null;
  diskTotalBytes: number | null;
}

/** MemAvailable from /proc/meminfo text, in bytes; undefined when absent. */
export function memAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s*kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

export class HostMonitor {
  readonly #diskPath: string | null;
  #last = cpuTimes();

  constructor(diskPath: string | null) {
    this.#diskPath = diskPath;
  }

  sample(): HostResources {
    const now = cpuTimes();
    const total = now.total - this.#last.total;
    const cpuPercent = total > 0 ? Math.round((1 - (now.idle - this.#last.idle) / total) * 1000) / 10 : 0;
    this.#last = now;
    let available: number | undefined;
    try {
      available = memAvailable(readFileSync('/proc/meminfo', 'utf8'));
    } catch { /* not Linux */ }
    let diskFreeBytes: number | null = null;
    let diskTotalBytes: number | null = null;
    if (this.#diskPath) {
      try {
        const s = statfsSync(this.#diskPath);
        diskFreeBytes = s.bavail * s.bsize;
        diskTotalBytes = s.blocks * s.bsize;
      } catch { /* remote Engine, or no access */ }
    }
    return {
      cpus: cpus().length,
      cpuPercent: Math.max(0, Math.min(100, cpuPercent)),
      loadAverage: loadavg()[0],
      memoryTotalBytes: totalmem(),
      memoryAvailableBytes: available ?? freemem(),
      diskPath: this.#diskPath,
      diskFreeBytes,
      diskTotalBytes,
    };
  }
}

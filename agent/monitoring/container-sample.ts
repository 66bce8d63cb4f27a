/*
 * One container's resource sample from the Docker Engine's stats documents
 * (`GET /containers/:id/stats?stream=false`, what `docker stats` reads): pure, no I/O, so that
 * it is tested on real documents captured from an Engine (fixtures/).
 *
 * - CPU: container CPU time over host CPU time between two documents, times the online cores,
 *   is the cores the container used (what `docker stats` shows as "CPU %", per core). Wharf
 *   reports it as a share of the container's own limit (HostConfig.NanoCpus, else
 *   CpuQuota/CpuPeriod, else the cpuset's cores, else every online core): 0 to 100, so that a
 *   container running flat out at `--cpus 0.5` reads 100 % and an idle one 0 %.
 *   The baseline is the previous document of this container (the whole sample interval),
 *   else the document's own `precpu_stats` (about a second before `read`).
 * - Memory: usage minus the inactive file cache, as `docker stats` does: `total_inactive_file`
 *   on cgroup v1, `inactive_file` on cgroup v2, the plain usage when neither is below it.
 *   The limit is `memory_stats.limit` (the host's memory when the container has none).
 * - Network and block I/O: cumulative counters, so rates need two documents; their difference
 *   over the time between their `read` stamps. A counter that went down (the container
 *   restarted) gives no rate for that interval rather than a negative or a bogus one.
 */

export interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

/** The fields of the Engine's stats document this module reads (API 1.41, cgroup v1 and v2). */
export interface DockerStats {
  read?: string;
  preread?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: BlkioEntry[] | null };
}

/** The CPU limits of a container, from `docker inspect`'s HostConfig. */
export interface CpuLimits {
  nanoCpus?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
}

export interface ContainerSample {
  /** Unix ms of the document's `read`. */
  at: number;
  /** Share of the container's CPU limit (else of all online cores), 0 to 100. */
  cpuPercent?: number;
  /** Cores used on average over the interval (`docker stats` CPU % / 100). */
  cpuCores?: number;
  /** The cores `cpuPercent` is a share of. */
  cpuLimitCores?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  networkRxBytesPerS?: number;
  networkTxBytesPerS?: number;
  networkBytesPerS?: number;
  blockReadBytesPerS?: number;
  blockWriteBytesPerS?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;

/** HostConfig of `docker inspect` → the container's CPU limits. */
export function cpuLimitsOf(hostConfig: Record<string, unknown> | undefined): CpuLimits {
  const h = hostConfig ?? {};
  return {
    nanoCpus: num(h.NanoCpus),
    cpuQuota: num(h.CpuQuota),
    cpuPeriod: num(h.CpuPeriod),
    cpusetCpus: typeof h.CpusetCpus === 'string' ? h.CpusetCpus : undefined,
  };
}

/** How many CPUs a cpuset such as `0-3,6` names; undefined for an empty or malformed one. */
export function cpusetSize(cpuset: string | undefined): number | undefined {
  if (!cpuset?.trim()) return undefined;
  let n = 0;
  for (const part of cpuset.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return undefined;
    n += b - a + 1;
  }
  return n || undefined;
}

/** The cores a container may use: its limit, never more than the host's online cores. */
export function cpuLimitCores(limits: CpuLimits, onlineCpus: number): number {
  const candidates = [onlineCpus];
  if (limits.nanoCpus && limits.nanoCpus > 0) candidates.push(limits.nanoCpus / 1e9);
  // CpuPeriod 0 means the kernel's default period, 100 ms.
  if (limits.cpuQuota && limits.cpuQuota > 0) candidates.push(limits.cpuQuota / (limits.cpuPeriod && limits.cpuPeriod > 0 ? limits.cpuPeriod : 100_000));
  const set = cpusetSize(limits.cpusetCpus);
  if (set) candidates.push(set);
  return Math.min(...candidates.filter((c) => c > 0));
}

function onlineCpus(s: CpuStats | undefined): number | undefined {
  return num(s?.online_cpus) || (Array.isArray(s?.cpu_usage?.percpu_usage) ? s.cpu_usage.percpu_usage.length : undefined) || undefined;
}

/** Cores used between `base` and `now`; undefined when the deltas make no sense (restart, first document). */
function coresUsed(now: CpuStats | undefined, base: CpuStats | undefined, cpus: number): number | undefined {
  const cpu = num(now?.cpu_usage?.total_usage);
  const sys = num(now?.system_cpu_usage);
  const cpu0 = num(base?.cpu_usage?.total_usage);
  const sys0 = num(base?.system_cpu_usage);
  if (cpu === undefined || sys === undefined || cpu0 === undefined || sys0 === undefined || !sys0) return undefined;
  const dCpu = cpu - cpu0;
  const dSys = sys - sys0;
  if (dSys <= 0 || dCpu < 0) return undefined;
  return (dCpu / dSys) * cpus;
}

/** Memory in use as `docker stats` shows it: usage less the inactive file cache (cgroup v1 and v2). */
export function memoryUsed(m: DockerStats['memory_stats']): number | undefined {
  const usage = num(m?.usage);
  if (usage === undefined) return undefined;
  const stats = m?.stats ?? {};
  const v1 = num(stats.total_inactive_file);
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = num(stats.inactive_file);
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/** Bytes received and sent over all the container's interfaces; undefined without any (network none). */
export function networkTotals(s: DockerStats): { rx: number; tx: number } | undefined {
  if (!s.networks || typeof s.networks !== 'object') return undefined;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks)) {
    rx += num(n?.rx_bytes) ?? 0;
    tx += num(n?.tx_bytes) ?? 0;
  }
  return { rx, tx };
}

/**
 * Bytes read and written to block devices: the `Read`/`Write` entries (cgroup v1) or
 * `read`/`write` (cgroup v2) of io_service_bytes_recursive, summed over devices ("Total",
 * "Sync", "Async" and the rest are other views of the same bytes, left out).
 */
export function blockTotals(s: DockerStats): { read: number; write: number } | undefined {
  const list = s.blkio_stats?.io_service_bytes_recursive;
  if (!Array.isArray(list)) return undefined;
  let read = 0;
  let write = 0;
  for (const e of list) {
    const op = String(e?.op ?? '').toLowerCase();
    const v = num(e?.value) ?? 0;
    if (op === 'read') read += v;
    else if (op === 'write') write += v;
  }
  return { read, write };
}

const rate = (now: number, before: number, seconds: number): number | undefined => (now >= before ? round((now - before) / seconds, 1) : undefined);

/**
 * The sample of a container from its latest stats document and, for rates and the CPU over
 * the whole interval, the one before it (undefined for the first sample: no rates then, the
 * CPU from the document's own precpu_stats).
 */
export function containerSample(now: DockerStats, previous: DockerStats | undefined, limits: CpuLimits = {}, hostCpus = 1): ContainerSample {
  const at = Date.parse(now.read ?? '');
  const out: ContainerSample = { at: Number.isFinite(at) ? at : 0 };

  const cpus = onlineCpus(now.cpu_stats) ?? onlineCpus(now.precpu_stats) ?? hostCpus;
  const cores = (previous ? coresUsed(now.cpu_stats, previous.cpu_stats, cpus) : undefined) ?? coresUsed(now.cpu_stats, now.precpu_stats, cpus);
  if (cores !== undefined) {
    const limit = cpuLimitCores(limits, cpus);
    out.cpuCores = round(cores, 4);
    out.cpuLimitCores = limit;
    out.cpuPercent = round(Math.max(0, Math.min(100, (cores / limit) * 100)), 2);
  }

  const mem = memoryUsed(now.memory_stats);
  if (mem !== undefined) out.memoryBytes = mem;
  const limit = num(now.memory_stats?.limit);
  if (limit !== undefined && limit > 0) out.memoryLimitBytes = limit;

  if (!previous) return out;
  const before = Date.parse(previous.read ?? '');
  const seconds = (at - before) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return out;

  const n1 = networkTotals(now);
  const n0 = networkTotals(previous);
  if (n1 && n0) {
    const rx = rate(n1.rx, n0.rx, seconds);
    const tx = rate(n1.tx, n0.tx, seconds);
    if (rx !== undefined && tx !== undefined) {
      out.networkRxBytesPerS = rx;
      out.networkTxBytesPerS = tx;
      out.networkBytesPerS = round(rx + tx, 1);
    }
  }
  const b1 = blockTotals(now);
  const b0 = blockTotals(previous);
  if (b1 && b0) {
    const r = rate(b1.read, b0.read, seconds);
    const w = rate(b1.write, b0.write, seconds);
    if (r !== undefined) out.blockReadBytesPerS = r;
    if (w !== undefined) out.blockWriteBytesPerS = w;
  }
  return out;
}

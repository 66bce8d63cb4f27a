/*
 * GPUs from `nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits` (pure; the runner is gpu-runner.ts), and which of them a
 * container was given (its HostConfig.DeviceRequests).
 *
 * What nvidia-smi really prints, and this parser takes:
 * - one line per GPU, fields separated by ", " (names carry no commas);
 * - a value it cannot read as "[N/A]", "[Not Supported]", "[Unknown Error]",
 *   "[Insufficient Permissions]"… (brackets), older drivers also a bare "N/A": absent, never 0;
 * - with `nounits` left out, units after the number: "86 %", "1934 MiB";
 * - with `noheader` left out, a header line first: "index, uuid, name, utilization.gpu [%], …".
 * A GPU whose utilization is unknown is kept with `utilizationPercent` undefined: it is not
 * idle, it is unmeasured, and callers leave it out of what they report.
 */

/** The query the runner sends, in the order the parser expects by default. */
export const GPU_QUERY_FIELDS = ['index', 'uuid', 'name', 'utilization.gpu', 'memory.used', 'memory.total'] as const;

export interface GpuReading {
  index: number;
  uuid?: string;
  name?: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
}

const UNIT_BYTES: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** A value nvidia-smi printed: undefined for "[N/A]", "[Not Supported]" and the like. */
function cell(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  if (!v || /^\[.*\]$/.test(v) || /^(N\/A|Not Supported)$/i.test(v)) return undefined;
  return v;
}

/** A number with an optional unit; memory in MiB when unitless (nvidia-smi's `nounits` unit). */
function quantity(raw: string | undefined, kind: 'percent' | 'mib' | 'plain'): number | undefined {
  const v = cell(raw);
  if (v === undefined) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)\s*(%|[KMG]i?B|B)?$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (kind === 'mib') return Math.round(n * (m[2] && m[2] !== '%' ? UNIT_BYTES[m[2]] : UNIT_BYTES.MiB));
  return n;
}

/** The field name of a header cell: `utilization.gpu [%]` → `utilization.gpu`. */
const fieldOf = (header: string) => header.trim().replace(/\s*\[.*\]$/, '');

/**
 * Parses nvidia-smi CSV. `fields` names the columns of the query (default GPU_QUERY_FIELDS);
 * `gpu_uuid` and `gpu_name` are taken as `uuid` and `name`. A header line, where present,
 * sets the columns instead. Rows without a valid index are skipped (an error line on stdout).
 */
export function parseNvidiaSmi(text: string, fields: readonly string[] = GPU_QUERY_FIELDS): GpuReading[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  let columns = fields.map((f) => f.trim());
  // A header line: every cell a field name, perhaps with its unit (`memory.used [MiB]`).
  if (lines.length && lines[0].split(',').every((c) => /^[a-z_.]+(\s*\[[^\]]*\])?$/i.test(c.trim()))) {
    columns = lines.shift()!.split(',').map(fieldOf);
  }
  const at = (name: string) => {
    const aliases: Record<string, string[]> = { uuid: ['uuid', 'gpu_uuid'], name: ['name', 'gpu_name'] };
    for (const a of aliases[name] ?? [name]) {
      const i = columns.indexOf(a);
      if (i >= 0) return i;
    }
    return -1;
  };
  const iIndex = at('index');
  const out: GpuReading[] = [];
  lines.forEach((line, row) => {
    const cells = line.split(', ');
    if (cells.length !== columns.length) return;
    const get = (name: string) => {
      const i = at(name);
      return i >= 0 ? cells[i] : undefined;
    };
    // Without an index column (a query of other fields), the row number is the index.
    const index = iIndex >= 0 ? quantity(cells[iIndex], 'plain') : row;
    if (index === undefined || !Number.isInteger(index)) return;
    const r: GpuReading = { index };
    const uuid = cell(get('uuid'));
    if (uuid) r.uuid = uuid;
    const name = cell(get('name'));
    if (name) r.name = name;
    const util = quantity(get('utilization.gpu'), 'percent');
    if (util !== undefined) r.utilizationPercent = Math.min(100, util);
    const used = quantity(get('memory.used'), 'mib');
    if (used !== undefined) r.memoryUsedBytes = used;
    const total = quantity(get('memory.total'), 'mib');
    if (total !== undefined) r.memoryTotalBytes = total;
    out.push(r);
  });
  return out;
}

/** One entry of HostConfig.DeviceRequests (`--gpus`). */
export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[] | null;
  Capabilities?: string[][] | null;
}

const isGpuRequest = (r: DeviceRequest) => r.Driver === 'nvidia' || (r.Capabilities ?? []).some((set) => (set ?? []).includes('gpu'));

/**
 * The GPUs a container was given: `--gpus all` (Count -1) is every GPU; `--gpus N` the
 * first N (Docker hands the nvidia runtime indices 0…N-1); `--gpus device=…` the ones named
 * by index or UUID. None without a GPU device request.
 */
export function assignedGpus(requests: DeviceRequest[] | null | undefined, gpus: GpuReading[]): GpuReading[] {
  const chosen = new Set<GpuReading>();
  for (const r of requests ?? []) {
    if (!isGpuRequest(r)) continue;
    const ids = (r.DeviceIDs ?? []).flatMap((id) => id.split(',')).map((id) => id.trim()).filter(Boolean);
    if (ids.length) {
      for (const g of gpus) if (ids.includes(String(g.index)) || (g.uuid && ids.includes(g.uuid))) chosen.add(g);
    } else if (r.Count === -1) {
      for (const g of gpus) chosen.add(g);
    } else if (r.Count && r.Count > 0) {
      for (const g of gpus) if (g.index < r.Count) chosen.add(g);
    }
  }
  return gpus.filter((g) => chosen.has(g));
}

/** Whether the container asked for any GPU at all (so the runner is only asked when needed). */
export const wantsGpus = (requests: DeviceRequest[] | null | undefined): boolean => (requests ?? []).some(isGpuRequest);

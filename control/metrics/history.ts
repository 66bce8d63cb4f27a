import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { ValidationError } from '../../protocol/validate.ts';
import { decodeLatency, type GatewayDelta } from './gateway-delta.ts';

/*
 * Per-instance metrics history (issue 4, "Metrics history"), in memory, under a given clock.
 *
 * Two tiers of fixed-width points, both aligned to the Unix epoch:
 *   raw    10 s points, kept for `rawRetentionMs`    (default 24 h)
 *   coarse  1 min points, kept for `coarseRetentionMs` (default 7 d, counted from now as well)
 * Every write goes into its 10 s point and its 1 min point at once (a rollup on write), so
 * `compact` only has to drop: 10 s points older than the raw retention (their minute already
 * holds them) and 1 min points older than the coarse retention. A query is answered from one
 * tier: 10 s when the whole range lies in the raw retention, else 1 min for all of it.
 *
 * How a point combines what falls into it:
 *   requests, errors (5xx), bytesIn, bytesOut  summed
 *   latency p50/p95/p99                        from the merged HDR histogram of every delta in
 *                                              the point (exact to the histograms' precision,
 *                                              never an average of percentiles)
 *   cpuPercent, gpuPercent, networkBytesPerS   mean of the samples (sum and count are kept, so
 *                                              a minute is the mean of all its samples, not of
 *                                              its 10 s means): these are rates, and the mean
 *                                              rate is what idle thresholds compare with
 *   memoryBytes                                maximum: a peak is what runs a container out of
 *                                              memory, and a mean would hide it
 *
 * Latency histograms are held only while a point can still take deltas: a delta whose
 * interval midpoint is more than `lateMs` (default 5 min) old is refused, and points that
 * old keep their percentiles but drop the histogram. Writes more than FUTURE_MS ahead of now
 * are refused too (a gateway with a wrong clock).
 *
 * Memory: a point is 15 doubles (120 B) in chunks allocated per hour of 10 s points (360
 * points, 43 KiB) or per 6 h of 1 min points (360 points, 43 KiB), only where data fell. An
 * instance reporting without pause holds at most 26 raw chunks (24 h + both edges) and 30
 * coarse chunks (7 d + edges): about 2.4 MiB with the defaults, plus the open histograms
 * (about (lateMs + 1 min) / 10 s + (lateMs + 1 min) / 1 min + 2 ≈ 44 strings, each under
 * MAX_LATENCY_CHARS and typically well under 1 KiB). An instance seen for an hour costs about
 * 86 KiB. This bound holds as long as `compact(now)` runs: each instance compacts itself on
 * a write at least a minute after its last compaction, and control should call `compact`
 * every minute so that instances no longer reporting are released, and `forget` when an
 * instance is deleted.
 */

export const RAW_RESOLUTION_MS = 10_000; // 10 seconds
export const COARSE_RESOLUTION_MS = 60_000; // one minute
export const DEFAULT_RAW_RETENTION_MS = 24 * 3_600_000; // 24 hours
export const DEFAULT_COARSE_RETENTION_MS = 7 * 24 * 3_600_000; // 7 days
export const DEFAULT_LATE_MS = 5 * 60_000; // 5 minutes
export const FUTURE_MS = 60_000; // one minute of clock skew
const COMPACT_EVERY_MS = 60_000; // one minute
const SLOTS_PER_CHUNK = 360; // 1 h of 10 s points, 6 h of 1 min points

export interface HistoryOptions {
  rawRetentionMs?: number;
  coarseRetentionMs?: number;
  lateMs?: number;
}

/** What an agent reports for one container; a field left out is not recorded. */
export interface ResourceSample {
  /** Unix ms the sample was taken; `now` when left out. */
  at?: number;
  /** Percent of the container's CPU limit, else of all cores (protocol/resource-sample.ts). */
  cpuPercent?: number;
  /** Utilisation of the busiest GPU the container uses, percent. */
  gpuPercent?: number;
  memoryBytes?: number;
  /** Network bytes per second, in and out together. */
  networkBytesPerS?: number;
}

export interface QueryOptions {
  /** Unix ms, inclusive; default an hour before `to`. */
  from?: number;
  /** Unix ms, exclusive; default `now`. */
  to?: number;
  now: number;
}

/**
 * Columns of equal length, one entry per point that holds data (points without any are left
 * out), oldest first. Counts are per point; `null` where a point has no such data.
 */
export interface MetricsSeries {
  instance: string;
  from: number;
  to: number;
  resolutionMs: number;
  /** Start of each point, Unix ms. */
  t: number[];
  requests: number[];
  /** Responses with a 5xx status. */
  errors: number[];
  bytesIn: number[];
  bytesOut: number[];
  latencyMs: { p50: (number | null)[]; p95: (number | null)[]; p99: (number | null)[] };
  cpuPercent: (number | null)[];
  gpuPercent: (number | null)[];
  memoryBytes: (number | null)[];
  networkBytesPerS: (number | null)[];
}

export interface HistoryStats {
  instances: number;
  rawPoints: number;
  coarsePoints: number;
  openHistograms: number;
  /** Bytes of point storage allocated (chunks), histograms not included. */
  chunkBytes: number;
  /** Writes refused as too late, too early, or past the coarse retention. */
  refused: number;
}

// Fields of a point.
const REQUESTS = 0, ERRORS = 1, BYTES_IN = 2, BYTES_OUT = 3, P50 = 4, P95 = 5, P99 = 6;
const CPU_SUM = 7, CPU_N = 8, GPU_SUM = 9, GPU_N = 10, MEM_MAX = 11, NET_SUM = 12, NET_N = 13, TOUCHED = 14;
const FIELDS = 15;
const NAN_FIELDS = [P50, P95, P99, MEM_MAX];

/** One resolution of one instance: points in chunks, and the histograms of open points. */
class Tier {
  readonly resolutionMs: number;
  readonly #chunkMs: number;
  readonly #chunks = new Map<number, Float64Array>(); // chunk start → points
  /** Point start → its merged latency histogram, while the point can still take deltas. */
  readonly histograms = new Map<number, string>();

  constructor(resolutionMs: number) {
    this.resolutionMs = resolutionMs;
    this.#chunkMs = resolutionMs * SLOTS_PER_CHUNK;
  }

  start(t: number): number {
    return Math.floor(t / this.resolutionMs) * this.resolutionMs;
  }

  /** The point holding time `t`: its chunk and the offset of its first field. */
  point(t: number): { a: Float64Array; o: number } {
    const chunkStart = Math.floor(t / this.#chunkMs) * this.#chunkMs;
    let a = this.#chunks.get(chunkStart);
    if (!a) {
      a = new Float64Array(SLOTS_PER_CHUNK * FIELDS);
      clear(a, 0, SLOTS_PER_CHUNK);
      this.#chunks.set(chunkStart, a);
    }
    return { a, o: Math.floor((t - chunkStart) / this.resolutionMs) * FIELDS };
  }

  /** Drops every point that starts before `cutoff`. */
  dropBefore(cutoff: number): void {
    for (const [chunkStart, a] of this.#chunks) {
      if (chunkStart + this.#chunkMs <= cutoff) {
        this.#chunks.delete(chunkStart);
      } else if (chunkStart < cutoff) {
        clear(a, 0, Math.ceil((cutoff - chunkStart) / this.resolutionMs));
        if (countPoints(a) === 0) this.#chunks.delete(chunkStart);
      }
    }
    for (const t of this.histograms.keys()) if (t < cutoff) this.histograms.delete(t);
  }

  /** Forgets the histograms of points that ended at or before `before`. */
  seal(before: number): void {
    for (const t of this.histograms.keys()) if (t + this.resolutionMs <= before) this.histograms.delete(t);
  }

  /** Points with data whose start is in [from, to), oldest first. */
  *points(from: number, to: number): Generator<[number, Float64Array, number]> {
    const starts = [...this.#chunks.keys()].filter((s) => s + this.#chunkMs > from && s < to).sort((x, y) => x - y);
    for (const chunkStart of starts) {
      const a = this.#chunks.get(chunkStart)!;
      for (let i = 0; i < SLOTS_PER_CHUNK; i++) {
        const t = chunkStart + i * this.resolutionMs;
        if (t >= from && t < to && a[i * FIELDS + TOUCHED] !== 0) yield [t, a, i * FIELDS];
      }
    }
  }

  get count(): number {
    let n = 0;
    for (const a of this.#chunks.values()) n += countPoints(a);
    return n;
  }

  get chunkBytes(): number {
    let bytes = 0;
    for (const a of this.#chunks.values()) bytes += a.byteLength;
    return bytes;
  }

  get empty(): boolean {
    return this.#chunks.size === 0;
  }
}

function countPoints(a: Float64Array): number {
  let n = 0;
  for (let i = TOUCHED; i < a.length; i += FIELDS) if (a[i] !== 0) n++;
  return n;
}

function clear(a: Float64Array, fromSlot: number, toSlot: number): void {
  a.fill(0, fromSlot * FIELDS, toSlot * FIELDS);
  for (let s = fromSlot; s < toSlot; s++) for (const f of NAN_FIELDS) a[s * FIELDS + f] = Number.NaN;
}

interface InstanceSeries {
  raw: Tier;
  coarse: Tier;
  compactedAt: number;
}

export class MetricsHistory {
  readonly #rawRetentionMs: number;
  readonly #coarseRetentionMs: number;
  readonly #lateMs: number;
  readonly #instances = new Map<string, InstanceSeries>();
  #refused = 0;

  constructor(options: HistoryOptions = {}) {
    this.#rawRetentionMs = options.rawRetentionMs ?? DEFAULT_RAW_RETENTION_MS;
    this.#coarseRetentionMs = options.coarseRetentionMs ?? DEFAULT_COARSE_RETENTION_MS;
    this.#lateMs = options.lateMs ?? DEFAULT_LATE_MS;
    if (!(this.#rawRetentionMs >= RAW_RESOLUTION_MS)) throw new RangeError('rawRetentionMs must be at least 10 s');
    if (!(this.#coarseRetentionMs >= this.#rawRetentionMs)) throw new RangeError('coarseRetentionMs must be at least rawRetentionMs');
    if (!(this.#lateMs >= 0)) throw new RangeError('lateMs must be 0 or more');
  }

  /**
   * Adds a gateway's delta (checked with parseGatewayDelta) to `instance`, at the midpoint of
   * its interval. False when refused: too old (see `lateMs`), or ahead of `now`.
   */
  recordGateway(instance: string, delta: GatewayDelta, now: number): boolean {
    const t = Math.floor((delta.interval.from + delta.interval.to) / 2);
    if (t < now - this.#lateMs || t < now - this.#coarseRetentionMs || t > now + FUTURE_MS) {
      this.#refused++;
      return false;
    }
    const latency = decodeLatency(delta.latency);
    let errors = 0;
    for (const [code, n] of Object.entries(delta.codes)) if (code >= '500') errors += n;
    const series = this.#series(instance, now);
    for (const tier of this.#tiersFor(series, t, now)) {
      const { a, o } = tier.point(t);
      a[o + REQUESTS] += delta.requests;
      a[o + ERRORS] += errors;
      a[o + BYTES_IN] += delta.bytesIn;
      a[o + BYTES_OUT] += delta.bytesOut;
      a[o + TOUCHED] = 1;
      if (latency.totalCount > 0) mergeLatency(tier, tier.start(t), a, o, latency, delta.latency);
    }
    return true;
  }

  /** Adds an agent's resource sample for `instance`. False when outside the retention or ahead of `now`. */
  recordSample(instance: string, sample: ResourceSample, now: number): boolean {
    const t = sample.at ?? now;
    for (const field of ['at', 'cpuPercent', 'gpuPercent', 'memoryBytes', 'networkBytesPerS'] as const) {
      const v = sample[field];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ValidationError(field, 'must be a finite number, 0 or more');
    }
    if (t < now - this.#coarseRetentionMs || t > now + FUTURE_MS) {
      this.#refused++;
      return false;
    }
    const series = this.#series(instance, now);
    for (const tier of this.#tiersFor(series, t, now)) {
      const { a, o } = tier.point(t);
      if (sample.cpuPercent !== undefined) (a[o + CPU_SUM] += sample.cpuPercent), a[o + CPU_N]++;
      if (sample.gpuPercent !== undefined) (a[o + GPU_SUM] += sample.gpuPercent), a[o + GPU_N]++;
      if (sample.networkBytesPerS !== undefined) (a[o + NET_SUM] += sample.networkBytesPerS), a[o + NET_N]++;
      if (sample.memoryBytes !== undefined) a[o + MEM_MAX] = Number.isNaN(a[o + MEM_MAX]) ? sample.memoryBytes : Math.max(a[o + MEM_MAX], sample.memoryBytes);
      a[o + TOUCHED] = 1;
    }
    return true;
  }

  /** The series of `instance` over [from, to), at 10 s if the raw tier covers it all, else 1 min. */
  query(instance: string, options: QueryOptions): MetricsSeries {
    const { now } = options;
    const to = options.to ?? now;
    const from = options.from ?? to - 3_600_000;
    const rawCutoff = now - this.#rawRetentionMs;
    const useRaw = from >= rawCutoff;
    const resolutionMs = useRaw ? RAW_RESOLUTION_MS : COARSE_RESOLUTION_MS;
    const out: MetricsSeries = {
      instance, from, to, resolutionMs, t: [], requests: [], errors: [], bytesIn: [], bytesOut: [],
      latencyMs: { p50: [], p95: [], p99: [] }, cpuPercent: [], gpuPercent: [], memoryBytes: [], networkBytesPerS: [],
    };
    const series = this.#instances.get(instance);
    if (!series) return out;
    const tier = useRaw ? series.raw : series.coarse;
    const cutoff = useRaw ? rawCutoff : now - this.#coarseRetentionMs;
    const nullIfNaN = (v: number) => (Number.isNaN(v) ? null : v);
    const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);
    for (const [t, a, o] of tier.points(Math.max(tier.start(from), cutoff), to)) {
      out.t.push(t);
      out.requests.push(a[o + REQUESTS]);
      out.errors.push(a[o + ERRORS]);
      out.bytesIn.push(a[o + BYTES_IN]);
      out.bytesOut.push(a[o + BYTES_OUT]);
      out.latencyMs.p50.push(nullIfNaN(a[o + P50]));
      out.latencyMs.p95.push(nullIfNaN(a[o + P95]));
      out.latencyMs.p99.push(nullIfNaN(a[o + P99]));
      out.cpuPercent.push(mean(a[o + CPU_SUM], a[o + CPU_N]));
      out.gpuPercent.push(mean(a[o + GPU_SUM], a[o + GPU_N]));
      out.memoryBytes.push(nullIfNaN(a[o + MEM_MAX]));
      out.networkBytesPerS.push(mean(a[o + NET_SUM], a[o + NET_N]));
    }
    return out;
  }

  /**
   * Drops 10 s points past the raw retention (their 1 min points hold them already), 1 min
   * points past the coarse retention, histograms of points too old for deltas, and instances
   * left with nothing.
   */
  compact(now: number): void {
    for (const [instance, series] of this.#instances) {
      this.#compact(series, now);
      if (series.coarse.empty && series.raw.empty) this.#instances.delete(instance);
    }
  }

  /** Forgets an instance's history (the instance was deleted). */
  forget(instance: string): void {
    this.#instances.delete(instance);
  }

  stats(): HistoryStats {
    const s: HistoryStats = { instances: this.#instances.size, rawPoints: 0, coarsePoints: 0, openHistograms: 0, chunkBytes: 0, refused: this.#refused };
    for (const { raw, coarse } of this.#instances.values()) {
      s.rawPoints += raw.count;
      s.coarsePoints += coarse.count;
      s.openHistograms += raw.histograms.size + coarse.histograms.size;
      s.chunkBytes += raw.chunkBytes + coarse.chunkBytes;
    }
    return s;
  }

  #series(instance: string, now: number): InstanceSeries {
    let series = this.#instances.get(instance);
    if (!series) {
      series = { raw: new Tier(RAW_RESOLUTION_MS), coarse: new Tier(COARSE_RESOLUTION_MS), compactedAt: now };
      this.#instances.set(instance, series);
    } else if (now - series.compactedAt >= COMPACT_EVERY_MS) {
      this.#compact(series, now);
    }
    return series;
  }

  /** The tiers a write at `t` goes into: the raw one only while `t` is within its retention. */
  #tiersFor(series: InstanceSeries, t: number, now: number): Tier[] {
    return t >= now - this.#rawRetentionMs ? [series.raw, series.coarse] : [series.coarse];
  }

  #compact(series: InstanceSeries, now: number): void {
    series.raw.dropBefore(now - this.#rawRetentionMs);
    series.coarse.dropBefore(now - this.#coarseRetentionMs);
    series.raw.seal(now - this.#lateMs);
    series.coarse.seal(now - this.#lateMs);
    series.compactedAt = now;
  }
}

/** Merges one delta's latency into a point's histogram and refreshes its percentiles (ms). */
function mergeLatency(tier: Tier, start: number, a: Float64Array, o: number, latency: Histogram, encoded: string): void {
  const held = tier.histograms.get(start);
  let merged: Histogram;
  if (held !== undefined) {
    merged = decodeFromCompressedBase64(held, 32, false); // our own encoding: no header checks needed
    merged.autoResize = true; // a delta may track a wider range than the first one did
    merged.add(latency);
    tier.histograms.set(start, encodeIntoCompressedBase64(merged));
  } else if (Number.isNaN(a[o + P50])) {
    merged = latency;
    tier.histograms.set(start, encoded);
  } else {
    // The point's histogram was sealed already (the clock went back): its percentiles stay as
    // they were rather than be replaced by this delta's alone.
    return;
  }
  a[o + P50] = merged.getValueAtPercentile(50) / 1000;
  a[o + P95] = merged.getValueAtPercentile(95) / 1000;
  a[o + P99] = merged.getValueAtPercentile(99) / 1000;
}

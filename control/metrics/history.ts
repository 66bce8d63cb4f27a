import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { ValidationError } from '../../protocol/validate.ts';
import type { MetricsPoint, MetricsPointStore, PointKey } from '../store/store.ts';
import { decodeLatency, type GatewayDelta } from './gateway-delta.ts';

/*
 * Per-instance metrics history (issue 4, "Metrics history"), in the store (issue 17): a gateway
 * or agent reports to any control, and every control charts the same history, which survives
 * restarts and `wharf store copy`.
 *
 * Two tiers of fixed-width points, both aligned to the Unix epoch:
 *   raw    10 s points, kept for `rawRetentionMs`    (default 24 h)
 *   coarse  1 min points, kept for `coarseRetentionMs` (default 7 d, counted from now as well)
 * Every write goes into its 10 s point and its 1 min point at once (a rollup on write, in one
 * transaction), so `compact` only has to drop: 10 s points older than the raw retention (their
 * minute already holds them) and 1 min points older than the coarse retention. A query is
 * answered from one tier: 10 s when the whole range lies in the raw retention, else 1 min for all of it.
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
 * old keep their percentiles but drop the histogram (`compact`). Writes more than FUTURE_MS
 * ahead of now are refused too (a gateway with a wrong clock).
 *
 * Size: a point is one row of about 150 bytes (plus its histogram while open, typically well
 * under 1 KiB): an instance reporting without pause for the default retentions holds 8,640 raw
 * and 10,080 coarse points, about 3 MB. Control calls `compact` every minute (on one control at
 * a time) and `forget` when an instance is deleted.
 */

export const RAW_RESOLUTION_MS = 10_000; // 10 seconds
export const COARSE_RESOLUTION_MS = 60_000; // one minute
export const DEFAULT_RAW_RETENTION_MS = 24 * 3_600_000; // 24 hours
export const DEFAULT_COARSE_RETENTION_MS = 7 * 24 * 3_600_000; // 7 days
export const DEFAULT_LATE_MS = 5 * 60_000; // 5 minutes
export const FUTURE_MS = 60_000; // one minute of clock skew

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
  /** Writes refused by this control as too late, too early, or past the coarse retention. */
  refused: number;
}

export class MetricsHistory {
  readonly #points: MetricsPointStore;
  readonly #rawRetentionMs: number;
  readonly #coarseRetentionMs: number;
  readonly #lateMs: number;
  #refused = 0;

  constructor(points: MetricsPointStore, options: HistoryOptions = {}) {
    this.#points = points;
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
  async recordGateway(instance: string, delta: GatewayDelta, now: number): Promise<boolean> {
    const t = Math.floor((delta.interval.from + delta.interval.to) / 2);
    if (t < now - this.#lateMs || t < now - this.#coarseRetentionMs || t > now + FUTURE_MS) {
      this.#refused++;
      return false;
    }
    const latency = decodeLatency(delta.latency);
    let errors = 0;
    for (const [code, n] of Object.entries(delta.codes)) if (code >= '500') errors += n;
    await this.#points.update(this.#keys(instance, t, now), (p) => {
      p.requests += delta.requests;
      p.errors += errors;
      p.bytesIn += delta.bytesIn;
      p.bytesOut += delta.bytesOut;
      if (latency.totalCount > 0) mergeLatency(p, latency, delta.latency);
    });
    return true;
  }

  /** Adds an agent's resource sample for `instance`. False when outside the retention or ahead of `now`. */
  async recordSample(instance: string, sample: ResourceSample, now: number): Promise<boolean> {
    const t = sample.at ?? now;
    for (const field of ['at', 'cpuPercent', 'gpuPercent', 'memoryBytes', 'networkBytesPerS'] as const) {
      const v = sample[field];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ValidationError(field, 'must be a finite number, 0 or more');
    }
    if (t < now - this.#coarseRetentionMs || t > now + FUTURE_MS) {
      this.#refused++;
      return false;
    }
    await this.#points.update(this.#keys(instance, t, now), (p) => {
      if (sample.cpuPercent !== undefined) (p.cpuSum += sample.cpuPercent), p.cpuN++;
      if (sample.gpuPercent !== undefined) (p.gpuSum += sample.gpuPercent), p.gpuN++;
      if (sample.networkBytesPerS !== undefined) (p.netSum += sample.networkBytesPerS), p.netN++;
      if (sample.memoryBytes !== undefined) p.memMax = Math.max(p.memMax ?? 0, sample.memoryBytes);
    });
    return true;
  }

  /** The series of `instance` over [from, to), at 10 s if the raw tier covers it all, else 1 min. */
  async query(instance: string, options: QueryOptions): Promise<MetricsSeries> {
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
    const cutoff = useRaw ? rawCutoff : now - this.#coarseRetentionMs;
    const start = Math.floor(from / resolutionMs) * resolutionMs;
    const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);
    for (const p of await this.#points.list(instance, resolutionMs, Math.max(start, cutoff), to)) {
      out.t.push(p.t);
      out.requests.push(p.requests);
      out.errors.push(p.errors);
      out.bytesIn.push(p.bytesIn);
      out.bytesOut.push(p.bytesOut);
      out.latencyMs.p50.push(p.p50);
      out.latencyMs.p95.push(p.p95);
      out.latencyMs.p99.push(p.p99);
      out.cpuPercent.push(mean(p.cpuSum, p.cpuN));
      out.gpuPercent.push(mean(p.gpuSum, p.gpuN));
      out.memoryBytes.push(p.memMax);
      out.networkBytesPerS.push(mean(p.netSum, p.netN));
    }
    return out;
  }

  /**
   * Drops 10 s points past the raw retention (their 1 min points hold them already), 1 min
   * points past the coarse retention, and the histograms of points too old for deltas.
   */
  async compact(now: number): Promise<void> {
    await this.#points.dropBefore(RAW_RESOLUTION_MS, now - this.#rawRetentionMs);
    await this.#points.dropBefore(COARSE_RESOLUTION_MS, now - this.#coarseRetentionMs);
    await this.#points.seal(now - this.#lateMs);
  }

  /** Forgets an instance's history (the instance was deleted). */
  forget(instance: string): Promise<void> {
    return this.#points.forget(instance);
  }

  async stats(): Promise<HistoryStats> {
    const c = await this.#points.count();
    return {
      instances: c.instances, rawPoints: c.byResolution[RAW_RESOLUTION_MS] ?? 0, coarsePoints: c.byResolution[COARSE_RESOLUTION_MS] ?? 0,
      openHistograms: c.open, refused: this.#refused,
    };
  }

  /** The points a write at `t` goes into: its 10 s one only while `t` is within the raw retention, and its minute. */
  #keys(instance: string, t: number, now: number): PointKey[] {
    const at = (resolutionMs: number) => ({ instance, resolutionMs, t: Math.floor(t / resolutionMs) * resolutionMs });
    return t >= now - this.#rawRetentionMs ? [at(RAW_RESOLUTION_MS), at(COARSE_RESOLUTION_MS)] : [at(COARSE_RESOLUTION_MS)];
  }
}

/** Merges one delta's latency into a point's histogram and refreshes its percentiles (ms). */
function mergeLatency(p: MetricsPoint, latency: Histogram, encoded: string): void {
  let merged: Histogram;
  if (p.latency !== null) {
    merged = decodeFromCompressedBase64(p.latency, 32, false); // our own encoding: no header checks needed
    merged.autoResize = true; // a delta may track a wider range than the first one did
    merged.add(latency);
    p.latency = encodeIntoCompressedBase64(merged);
  } else if (p.p50 === null) {
    merged = latency;
    p.latency = encoded;
  } else {
    // The point's histogram was sealed already (the clock went back): its percentiles stay as
    // they were rather than be replaced by this delta's alone.
    return;
  }
  p.p50 = merged.getValueAtPercentile(50) / 1000;
  p.p95 = merged.getValueAtPercentile(95) / 1000;
  p.p99 = merged.getValueAtPercentile(99) / 1000;
}

import type { MetricsSeries } from '../../../control/metrics/history.ts';
import { duration } from '../format.ts';
import { bytes, count, ms, percent, rate } from './numbers.ts';

/*
 * Turns control's metrics answer (GET /api/v1/instances/:id/metrics, MetricsSeries of
 * control/metrics/history.ts) into uPlot's aligned columns and the words that stand in for
 * each chart. Pure: no DOM, no clock (metrics.test.ts).
 *
 * Control leaves out the points that hold no data; here they come back as nulls, so a quiet
 * stretch shows as a gap rather than a straight line drawn across it. uPlot wants seconds.
 */

export type MetricsAnswer = MetricsSeries;
export type Column = (number | null)[];

export interface ChartColumns {
  /** Start of each point, Unix seconds, every `resolutionMs`, gaps filled. */
  x: number[];
  /** Requests and 5xx responses per second over each point. */
  requestRate: Column;
  errorRate: Column;
  p50: Column;
  p95: Column;
  p99: Column;
  cpu: Column;
  gpu: Column;
  memory: Column;
}

/**
 * The most points drawn: past it, only the latest are kept. The longest range the page offers
 * fits: a week of 1 min points is 10,080, a day of 10 s points 8,640 (an hour is 360).
 */
export const MAX_POINTS = 10_081;

export function chartColumns(m: MetricsAnswer): ChartColumns {
  const out: ChartColumns = { x: [], requestRate: [], errorRate: [], p50: [], p95: [], p99: [], cpu: [], gpu: [], memory: [] };
  const n = m.t.length;
  if (n === 0) return out;
  const step = m.resolutionMs > 0 ? m.resolutionMs : 10_000;
  const perSecond = 1000 / step;
  let first = m.t[0];
  const last = m.t[n - 1];
  if ((last - first) / step >= MAX_POINTS) first = last - (MAX_POINTS - 1) * step;
  let i = m.t.findIndex((t) => t >= first);
  for (let t = first; t <= last; t += step) {
    out.x.push(t / 1000);
    if (i < n && m.t[i] === t) {
      out.requestRate.push(m.requests[i] * perSecond);
      out.errorRate.push(m.errors[i] * perSecond);
      out.p50.push(m.latencyMs.p50[i]);
      out.p95.push(m.latencyMs.p95[i]);
      out.p99.push(m.latencyMs.p99[i]);
      out.cpu.push(m.cpuPercent[i]);
      out.gpu.push(m.gpuPercent[i]);
      out.memory.push(m.memoryBytes[i]);
      i++;
    } else {
      for (const col of [out.requestRate, out.errorRate, out.p50, out.p95, out.p99, out.cpu, out.gpu, out.memory]) col.push(null);
    }
    // A point off the grid (never from control, whose points are aligned) is skipped, not looped on.
    while (i < n && m.t[i] < t + step) i++;
  }
  return out;
}

/** The last value that is not null. */
function lastValue(col: readonly (number | null)[]): number | null {
  const i = lastIndex(col);
  return i < 0 ? null : col[i];
}

/** The index of the last value that is not null, -1 when there is none. */
function lastIndex(col: readonly (number | null)[]): number {
  for (let i = col.length - 1; i >= 0; i--) {
    const v = col[i];
    if (v !== null && Number.isFinite(v)) return i;
  }
  return -1;
}

export interface Latest {
  requests: { total: number; errors: number; perSecondNow: number };
  latency: { p50: number; p95: number; p99: number } | null;
  cpu: number | null;
  /** null: no GPU sample in the window (the app has no GPU, or none was reported). */
  gpu: number | null;
  memory: number | null;
}

/**
 * The latest numbers. "Now" is the request rate over the current point and the one before it
 * (10 to 20 s with 10 s points): the current one is still filling as the gateway reports, so
 * it is counted over the time it has had; no traffic in them is 0/s.
 */
export function latest(m: MetricsAnswer): Latest {
  const total = m.requests.reduce((a, b) => a + b, 0);
  const errors = m.errors.reduce((a, b) => a + b, 0);
  const step = m.resolutionMs > 0 ? m.resolutionMs : 10_000;
  const since = Math.floor(m.to / step) * step - step;
  let recent = 0;
  for (let i = m.t.length - 1; i >= 0 && m.t[i] >= since; i--) recent += m.requests[i];
  const perSecondNow = m.to > since ? (recent * 1000) / (m.to - since) : 0;
  const p50 = lastValue(m.latencyMs.p50), p95 = lastValue(m.latencyMs.p95), p99 = lastValue(m.latencyMs.p99);
  return {
    requests: { total, errors, perSecondNow },
    latency: p50 === null || p95 === null || p99 === null ? null : { p50, p95, p99 },
    cpu: lastValue(m.cpuPercent),
    gpu: lastValue(m.gpuPercent),
    memory: lastValue(m.memoryBytes),
  };
}

export type MetricName = 'requests' | 'latency' | 'cpu' | 'gpu' | 'memory';

export interface Summary {
  /** The number a test (or a reader of the DOM) can compare: requests total, p95 ms, percent, bytes; '' when none. */
  value: string;
  /** The words shown under the chart and given as its text alternative. */
  text: string;
}

/** `the last 1h` for the window of the answer. */
export function windowWords(m: MetricsAnswer): string {
  return `the last ${duration((m.to - m.from) / 1000)}`;
}

/** ` at 14:02 UTC`: when a point began, in UTC as the console shows times. */
function atWords(tMs: number | undefined): string {
  return tMs === undefined || !Number.isFinite(tMs) ? '' : ` at ${new Date(tMs).toISOString().slice(11, 16)} UTC`;
}

/**
 * The words under each chart. `live`: the instance runs (or is on its way), so its latest
 * samples are "now"; a stopped or failed one shows the last values it had, as such, and when.
 */
export function summaries(m: MetricsAnswer, live: boolean): Record<MetricName, Summary> {
  const l = latest(m);
  const span = windowWords(m);
  const errors = l.requests.errors ? `, ${count(l.requests.errors)} with a server error` : '';
  const when = (col: readonly (number | null)[]) => atWords(m.t[lastIndex(col)]);
  return {
    requests: {
      value: String(l.requests.total),
      text: `${count(l.requests.total)} requests in ${span}${errors}${live ? `; ${rate(l.requests.perSecondNow)} now` : ''}`,
    },
    latency: l.latency
      ? {
        value: String(l.latency.p95),
        text: live
          ? `p50 ${ms(l.latency.p50)}, p95 ${ms(l.latency.p95)}, p99 ${ms(l.latency.p99)} (latest)`
          : `Last values: p50 ${ms(l.latency.p50)}, p95 ${ms(l.latency.p95)}, p99 ${ms(l.latency.p99)}${when(m.latencyMs.p95)}`,
      }
      : { value: '', text: `No requests timed in ${span}` },
    cpu: l.cpu === null
      ? { value: '', text: `No CPU samples in ${span}` }
      : { value: String(l.cpu), text: live ? `${percent(l.cpu)} CPU now` : `Last value: ${percent(l.cpu)} CPU${when(m.cpuPercent)}` },
    gpu: l.gpu === null
      ? { value: '', text: 'No GPU' }
      : { value: String(l.gpu), text: live ? `${percent(l.gpu)} GPU utilisation now` : `Last value: ${percent(l.gpu)} GPU utilisation${when(m.gpuPercent)}` },
    memory: l.memory === null
      ? { value: '', text: `No memory samples in ${span}` }
      : { value: String(l.memory), text: live ? `${bytes(l.memory)} in use now` : `Last value: ${bytes(l.memory)} in use${when(m.memoryBytes)}` },
  };
}

import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayDelta } from '../../../control/metrics/gateway-delta.ts';
import { MetricsHistory, type MetricsSeries } from '../../../control/metrics/history.ts';
import { tempStore, type TempStore } from '../../../control/store/testing.ts';
import { chartColumns, latest, MAX_POINTS, summaries } from './metrics.ts';

/* Answers made by control's own MetricsHistory, as GET /api/v1/instances/:id/metrics returns them (after JSON). */

const stores: TempStore[] = [];
afterEach(async () => {
  for (const t of stores.splice(0)) await t.cleanup();
});

/** A history on an embedded store of its own. */
function newHistory(): MetricsHistory {
  const t = tempStore();
  stores.push(t);
  return new MetricsHistory(t.store.metrics);
}

const START = Date.UTC(2026, 2, 1, 12, 0, 0); // a minute boundary
const S = 1000;

function latencyUs(values: number[]): string {
  const h = build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 2, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: false, useWebAssembly: false });
  for (const v of values) h.recordValue(v);
  return encodeIntoCompressedBase64(h);
}

async function traffic(history: MetricsHistory, at: number, requests: number, ms: number, errors = 0): Promise<void> {
  const values = Array.from({ length: requests }, () => ms * 1000);
  const codes: Record<string, number> = requests - errors ? { '200': requests - errors } : {};
  if (errors) codes['502'] = errors;
  const delta = parseGatewayDelta({
    route: 'i1', instance: 'i1', interval: { from: at, to: at + 5 * S }, requests, codes,
    bytesIn: 0, bytesOut: 100 * requests, latency: latencyUs(values),
  });
  expect(await history.recordGateway('i1', delta, at + 5 * S)).toBe(true);
}

const answer = async (history: MetricsHistory, now: number): Promise<MetricsSeries> => JSON.parse(JSON.stringify(await history.query('i1', { now })));

describe('metrics answer → chart columns', () => {
  it('turns 10 s points into per-second rates in seconds, with nulls where control left points out', async () => {
    const h = newHistory();
    await traffic(h, START, 30, 4);
    await h.recordSample('i1', { at: START + 2 * S, cpuPercent: 12.5, memoryBytes: 50 * 2 ** 20 }, START + 3 * S);
    // Nothing at all for 20 s, then traffic and samples again.
    await traffic(h, START + 30 * S, 10, 20, 1);
    await h.recordSample('i1', { at: START + 31 * S, cpuPercent: 40, memoryBytes: 60 * 2 ** 20 }, START + 32 * S);
    const m = await answer(h, START + 40 * S);
    expect(m.t).toEqual([START, START + 30 * S]);

    const c = chartColumns(m);
    expect(c.x).toEqual([START / 1000, START / 1000 + 10, START / 1000 + 20, START / 1000 + 30]);
    expect(c.requestRate).toEqual([3, null, null, 1]);
    expect(c.errorRate).toEqual([0, null, null, 0.1]);
    expect(c.cpu).toEqual([12.5, null, null, 40]);
    expect(c.memory).toEqual([50 * 2 ** 20, null, null, 60 * 2 ** 20]);
    expect(c.gpu).toEqual([null, null, null, null]);
    expect(c.p50[0]).toBeCloseTo(4, 1);
    expect(c.p99[3]).toBeCloseTo(20, 0);
    // uPlot needs columns of one length.
    for (const col of [c.requestRate, c.errorRate, c.p50, c.p95, c.p99, c.cpu, c.gpu, c.memory]) expect(col).toHaveLength(c.x.length);
  });

  it('gives empty columns for an instance with no history yet', async () => {
    const c = chartColumns(await answer(newHistory(), START));
    expect(c.x).toEqual([]);
    expect(c.requestRate).toEqual([]);
  });

  it('draws the longest range offered whole: a week of 1 min points', async () => {
    const h = newHistory();
    const last = START + 7 * 24 * 3_600_000 - 60 * S;
    await h.recordSample('i1', { at: START, cpuPercent: 1 }, START);
    await h.recordSample('i1', { at: last, cpuPercent: 2 }, last);
    const m = JSON.parse(JSON.stringify(await h.query('i1', { from: START, to: last + 60 * S, now: last + 60 * S }))) as MetricsSeries;
    expect(m.resolutionMs).toBe(60 * S);
    const c = chartColumns(m);
    expect(c.x).toHaveLength(7 * 24 * 60);
    expect(c.x.length).toBeLessThanOrEqual(MAX_POINTS);
    expect([c.cpu[0], c.cpu.at(-1)]).toEqual([1, 2]);
  });

  it('keeps only the newest MAX_POINTS points of a longer answer', async () => {
    const step = 10 * S;
    const first = START, last = START + (MAX_POINTS + 500) * step;
    const m = JSON.parse(JSON.stringify(await newHistory().query('none', { from: first, to: last, now: last }))) as MetricsSeries;
    m.resolutionMs = step;
    m.t = [first, last];
    m.requests = [1, 2]; m.errors = [0, 0]; m.bytesIn = [0, 0]; m.bytesOut = [0, 0];
    m.latencyMs = { p50: [null, null], p95: [null, null], p99: [null, null] };
    m.cpuPercent = [1, 2]; m.gpuPercent = [null, null]; m.memoryBytes = [null, null]; m.networkBytesPerS = [null, null];
    const c = chartColumns(m);
    expect(c.x).toHaveLength(MAX_POINTS);
    expect(c.x.at(-1)).toBe(last / 1000);
    expect(c.cpu.at(-1)).toBe(2);
    expect(c.cpu.slice(0, -1).every((v) => v === null)).toBe(true);
  });
});

describe('latest numbers and their words', () => {
  it('sums requests over the window, rates the last two points over the time they cover, and the last latency, CPU and memory', async () => {
    const h = newHistory();
    await traffic(h, START, 50, 3);
    await traffic(h, START + 10 * S, 32, 8, 2);
    await h.recordSample('i1', { at: START + 12 * S, cpuPercent: 7.25, gpuPercent: 63, memoryBytes: 1.5 * 2 ** 30 }, START + 13 * S);
    const m = await answer(h, START + 17 * S);
    const l = latest(m);
    expect(l.requests).toEqual({ total: 82, errors: 2, perSecondNow: 82 / 17 });
    expect(l.latency?.p95).toBeCloseTo(8, 1);
    expect(l.cpu).toBe(7.25);
    expect(l.gpu).toBe(63);
    expect(l.memory).toBe(1.5 * 2 ** 30);

    const s = summaries(m, true);
    expect(s.requests).toEqual({ value: '82', text: '82 requests in the last 1h, 2 with a server error; 4.8/s now' });
    expect(s.latency.text).toMatch(/^p50 8(\.\d)? ms, p95 8(\.\d)? ms, p99 8(\.\d)? ms \(latest\)$/);
    expect(s.cpu).toEqual({ value: '7.25', text: '7.3% CPU now' });
    expect(s.gpu).toEqual({ value: '63', text: '63% GPU utilisation now' });
    expect(s.memory).toEqual({ value: String(1.5 * 2 ** 30), text: '1.5 GiB in use now' });
  });

  it('says 0/s when the newest traffic is older than two points, and "No GPU" without GPU samples', async () => {
    const h = newHistory();
    await traffic(h, START, 120, 2);
    await h.recordSample('i1', { at: START + 1 * S, cpuPercent: 0, memoryBytes: 4096 }, START + 2 * S);
    const m = await answer(h, START + 5 * 60 * S);
    expect(latest(m).requests).toEqual({ total: 120, errors: 0, perSecondNow: 0 });
    const s = summaries(m, true);
    expect(s.requests.text).toBe('120 requests in the last 1h; 0/s now');
    expect(s.gpu).toEqual({ value: '', text: 'No GPU' });
    expect(s.cpu).toEqual({ value: '0', text: '0% CPU now' });
    expect(s.memory.text).toBe('4 KiB in use now');
  });

  it('a stopped or failed instance: the last values as such, with their time, and nothing "now"', async () => {
    const h = newHistory();
    await traffic(h, START, 50, 3);
    await h.recordSample('i1', { at: START + 12 * S, cpuPercent: 0.1, gpuPercent: 40, memoryBytes: 166 * 2 ** 20 }, START + 13 * S);
    const s = summaries(await answer(h, START + 5 * 60 * S), false);
    for (const words of Object.values(s)) expect(words.text).not.toMatch(/\bnow\b/);
    expect(s.requests).toEqual({ value: '50', text: '50 requests in the last 1h' });
    expect(s.latency.text).toMatch(/^Last values: p50 3(\.\d)? ms, p95 3(\.\d)? ms, p99 3(\.\d)? ms at 12:00 UTC$/);
    expect(s.cpu).toEqual({ value: '0.1', text: 'Last value: 0.1% CPU at 12:00 UTC' });
    expect(s.gpu).toEqual({ value: '40', text: 'Last value: 40% GPU utilisation at 12:00 UTC' });
    expect(s.memory).toEqual({ value: String(166 * 2 ** 20), text: 'Last value: 166 MiB in use at 12:00 UTC' });
  });

  it('words an empty history without numbers', async () => {
    const s = summaries(await answer(newHistory(), START), true);
    expect(s.requests).toEqual({ value: '0', text: '0 requests in the last 1h; 0/s now' });
    expect(s.latency).toEqual({ value: '', text: 'No requests timed in the last 1h' });
    expect(s.cpu.value).toBe('');
  });
});

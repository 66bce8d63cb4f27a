import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../protocol/validate.ts';
import { storeBackends } from '../store/store-backends.ts';
import { tempStore, type TestStore } from '../store/testing.ts';
import { parseGatewayDelta, type GatewayDelta } from './gateway-delta.ts';
import { MetricsHistory, type HistoryOptions } from './history.ts';

const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const START = Date.UTC(2025, 0, 1); // minute-aligned fake time

/** The gateway's latency histogram (gateway/metrics/route-stats.ts), values in µs. */
function histogram(valuesUs: number[]): Histogram {
  const h = build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 2, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: false, useWebAssembly: false });
  for (const v of valuesUs) h.recordValue(v);
  return h;
}

function delta(from: number, to: number, valuesUs: number[], codes?: Record<string, number>, encoded?: string): GatewayDelta {
  return parseGatewayDelta({
    route: 'r1', instance: 'r1', interval: { from, to },
    requests: valuesUs.length, codes: codes ?? (valuesUs.length ? { '200': valuesUs.length } : {}),
    bytesIn: 10 * valuesUs.length, bytesOut: 100 * valuesUs.length,
    latency: encoded ?? encodeIntoCompressedBase64(histogram(valuesUs)),
  });
}

const percentilesMs = (h: Histogram) => [50, 95, 99].map((p) => h.getValueAtPercentile(p) / 1000);

const opened: TestStore[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.cleanup();
});

/** A history on a fresh store of the backend `open` makes. */
async function historyOn(open: () => Promise<TestStore> | TestStore, options?: HistoryOptions): Promise<MetricsHistory> {
  const t = await open();
  opened.push(t);
  return new MetricsHistory(t.store.metrics, options);
}

// 4 hours of 10 s reports: on the embedded store (the rest runs on both backends).
describe('MetricsHistory (SQLite)', () => {
  it('keeps the raw retention at 10 s and downsamples what is older to 1 min: sums, merged percentiles, means, max memory', async () => {
    const history = await historyOn(tempStore, { rawRetentionMs: 2 * HOUR }); // coarse: 7 d
    // Five kinds of 10 s interval, encoded once: kind v has v+1 requests of (v+1) ms, the
    // last of them a 503 for kind 4.
    const kinds = [0, 1, 2, 3, 4].map((v) => {
      const values = Array.from({ length: v + 1 }, () => (v + 1) * 1_000);
      const codes: Record<string, number> = v === 4 ? { '200': 4, '503': 1 } : { '200': v + 1 };
      return { values, codes, encoded: encodeIntoCompressedBase64(histogram(values)) };
    });
    const slots = 4 * 360; // 4 h of 10 s intervals
    for (let k = 0; k < slots; k++) {
      const t = START + k * 10 * SEC;
      const now = t + 10 * SEC; // pushed when the interval ends
      const kind = kinds[k % 5];
      expect(await history.recordGateway('i1', delta(t, t + 10 * SEC, kind.values, kind.codes, kind.encoded), now)).toBe(true);
      expect(await history.recordSample('i1', { at: t + 5 * SEC, cpuPercent: k % 100, memoryBytes: 1e6 + (k % 6) * 1_000, networkBytesPerS: k }, now)).toBe(true);
    }
    const now = START + 4 * HOUR;
    await history.compact(now);
    expect(await history.stats()).toMatchObject({ instances: 1, rawPoints: 2 * 360, coarsePoints: 4 * 60 });

    // The first 2 h: one point per minute, each combining its six 10 s intervals.
    const old = await history.query('i1', { from: START, to: START + 2 * HOUR, now });
    expect(old.resolutionMs).toBe(60 * SEC);
    expect(old.t).toEqual(Array.from({ length: 120 }, (_, m) => START + m * MIN));
    for (let m = 0; m < 120; m++) {
      const ks = [0, 1, 2, 3, 4, 5].map((i) => 6 * m + i);
      const all = histogram(ks.flatMap((k) => kinds[k % 5].values));
      expect(old.requests[m]).toBe(ks.reduce((n, k) => n + (k % 5) + 1, 0));
      expect(old.errors[m]).toBe(ks.filter((k) => k % 5 === 4).length);
      expect(old.bytesIn[m]).toBe(10 * old.requests[m]);
      expect(old.bytesOut[m]).toBe(100 * old.requests[m]);
      expect([old.latencyMs.p50[m], old.latencyMs.p95[m], old.latencyMs.p99[m]]).toEqual(percentilesMs(all));
      expect(old.cpuPercent[m]).toBeCloseTo(ks.reduce((s, k) => s + (k % 100), 0) / 6, 9);
      expect(old.networkBytesPerS[m]).toBeCloseTo(6 * m + 2.5, 9);
      expect(old.memoryBytes[m]).toBe(1e6 + 5_000); // the peak, not the mean
      expect(old.gpuPercent[m]).toBeNull(); // never reported
    }

    // The last 2 h: every 10 s interval as it was pushed.
    const recent = await history.query('i1', { from: now - 2 * HOUR, to: now, now });
    expect(recent.resolutionMs).toBe(10 * SEC);
    expect(recent.t).toHaveLength(2 * 360);
    expect(recent.t[0]).toBe(START + 2 * HOUR);
    expect(recent.t.every((t, i) => i === 0 || t - recent.t[i - 1] === 10 * SEC)).toBe(true);
    for (const i of [0, 1, 2, 3, 4, 345, 719]) {
      const k = 2 * 360 + i;
      const kind = kinds[k % 5];
      expect(recent.requests[i]).toBe(kind.values.length);
      expect(recent.latencyMs.p50[i]).toBe(percentilesMs(histogram(kind.values))[0]);
      expect(recent.cpuPercent[i]).toBe(k % 100);
      expect(recent.memoryBytes[i]).toBe(1e6 + (k % 6) * 1_000);
    }

    // A range reaching past the raw retention is answered at 1 min for all of it.
    const whole = await history.query('i1', { from: START, to: now, now });
    expect(whole.resolutionMs).toBe(60 * SEC);
    expect(whole.t).toHaveLength(4 * 60);
    expect(whole.requests.reduce((a, b) => a + b, 0)).toBe(recent.requests.reduce((a, b) => a + b, 0) + old.requests.reduce((a, b) => a + b, 0));
  });

});

describe.each(storeBackends())('MetricsHistory on $name', ({ open }) => {
  it('merges the latency histograms of deltas into exact percentiles', async () => {
    const history = await historyOn(open);
    // Two gateways, one 10 s interval: 1..1000 ms on one, 1001..2000 ms on the other.
    const a = Array.from({ length: 1_000 }, (_, i) => (i + 1) * 1_000);
    const b = Array.from({ length: 1_000 }, (_, i) => (i + 1_001) * 1_000);
    const now = START + 10 * SEC;
    await history.recordGateway('i1', delta(START, START + 5 * SEC, a), now);
    await history.recordGateway('i1', delta(START + 5 * SEC, START + 10 * SEC, b), now);
    for (const resolution of ['10 s', '1 min']) {
      const q = resolution === '10 s'
        ? await history.query('i1', { from: START, to: now, now })
        : await history.query('i1', { from: START, to: now, now: START + 25 * HOUR });
      expect(q.resolutionMs).toBe(resolution === '10 s' ? 10 * SEC : 60 * SEC);
      expect(q.requests).toEqual([2_000]);
      // As if one histogram had seen every request…
      expect([q.latencyMs.p50[0], q.latencyMs.p95[0], q.latencyMs.p99[0]]).toEqual(percentilesMs(histogram([...a, ...b])));
      // …which is the true distribution within HDR's 1 % (two significant digits).
      expect(q.latencyMs.p50[0]! / 1_000).toBeCloseTo(1, 1);
      expect(Math.abs(q.latencyMs.p99[0]! - 1_980) / 1_980).toBeLessThan(0.01);
      expect(Math.abs(q.latencyMs.p95[0]! - 1_900) / 1_900).toBeLessThan(0.01);
    }
  });

  it('drops points past the retention, and instances left with nothing', async () => {
    const history = await historyOn(open, { rawRetentionMs: HOUR, coarseRetentionMs: 3 * HOUR });
    for (let t = START; t < START + 2 * HOUR; t += 10 * SEC) {
      await history.recordSample('i1', { at: t, cpuPercent: 50 }, START + 2 * HOUR);
      await history.recordSample('i2', { at: t, cpuPercent: 50 }, START + 2 * HOUR);
    }
    await history.compact(START + 2 * HOUR);
    expect(await history.stats()).toMatchObject({ instances: 2, rawPoints: 2 * 360, coarsePoints: 2 * 120 });

    // An hour later the first hour is past the raw retention: 10 s points only for the second.
    await history.compact(START + 3 * HOUR);
    expect(await history.stats()).toMatchObject({ rawPoints: 0, coarsePoints: 2 * 120 });
    // Past the coarse retention of the first hour: its minutes go.
    await history.compact(START + 4 * HOUR);
    expect(await history.stats()).toMatchObject({ instances: 2, coarsePoints: 2 * 60 });
    expect((await history.query('i1', { from: START, to: START + 5 * HOUR, now: START + 4 * HOUR })).t[0]).toBe(START + HOUR);

    await history.forget('i2');
    await history.compact(START + 5 * HOUR);
    expect(await history.stats()).toMatchObject({ instances: 0, rawPoints: 0, coarsePoints: 0 });
    expect((await history.query('i1', { from: START, to: START + 5 * HOUR, now: START + 5 * HOUR })).t).toEqual([]);
  });

  it('refuses writes too late for their histogram, ahead of the clock, or past the retention', async () => {
    const history = await historyOn(open);
    const now = START + HOUR;
    expect(await history.recordGateway('i1', delta(now - 6 * MIN, now - 6 * MIN + 10 * SEC, [1_000]), now)).toBe(false);
    expect(await history.recordGateway('i1', delta(now + 2 * MIN, now + 2 * MIN + 10 * SEC, [1_000]), now)).toBe(false);
    expect(await history.recordSample('i1', { at: now - 8 * 24 * HOUR, cpuPercent: 1 }, now)).toBe(false);
    expect(await history.recordSample('i1', { at: now + 2 * MIN, cpuPercent: 1 }, now)).toBe(false);
    expect(await history.stats()).toMatchObject({ refused: 4, instances: 0 });
    // A late sample within the retention is fine: it carries no histogram.
    expect(await history.recordSample('i1', { at: now - 2 * HOUR, cpuPercent: 1 }, now)).toBe(true);
    expect(await history.recordGateway('i1', delta(now - 4 * MIN, now - 4 * MIN + 10 * SEC, [1_000]), now)).toBe(true);
  });

  it('forgets histograms of points too old to take deltas, keeping their percentiles', async () => {
    const history = await historyOn(open);
    await history.recordGateway('i1', delta(START, START + 10 * SEC, [3_000, 4_000]), START + 10 * SEC);
    expect((await history.stats()).openHistograms).toBe(2); // its 10 s point and its minute
    await history.compact(START + 10 * MIN);
    expect((await history.stats()).openHistograms).toBe(0);
    const q = await history.query('i1', { from: START, to: START + MIN, now: START + 10 * MIN });
    expect(q.latencyMs.p99).toEqual([percentilesMs(histogram([3_000, 4_000]))[2]]);
  });

  it('adds up reports through several controls into the same points, also at the same moment', async () => {
    const t = await open();
    opened.push(t);
    const a = new MetricsHistory(t.store.metrics);
    const b = new MetricsHistory((await t.openAnother()).metrics);
    const now = START + 10 * SEC;
    // Twenty gateway deltas, half through each control, all into one 10 s point and its minute.
    const values = (i: number) => [(i + 1) * 1_000];
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? b : a).recordGateway('i1', delta(START, START + 10 * SEC, values(i)), now)));
    await Promise.all([a.recordSample('i1', { at: START, memoryBytes: 5, cpuPercent: 10 }, now), b.recordSample('i1', { at: START + SEC, memoryBytes: 7, cpuPercent: 30 }, now)]);
    const all = histogram(Array.from({ length: 20 }, (_, i) => values(i)).flat());
    for (const q of [await a.query('i1', { from: START, to: now, now }), await b.query('i1', { from: START, to: now, now: START + 25 * HOUR })]) {
      expect(q.requests).toEqual([20]);
      expect([q.latencyMs.p50[0], q.latencyMs.p95[0], q.latencyMs.p99[0]]).toEqual(percentilesMs(all));
      expect(q.memoryBytes).toEqual([7]);
      expect(q.cpuPercent).toEqual([20]);
    }
  });

  it('refuses a malformed sample with the field it names', async () => {
    const history = await historyOn(open);
    await expect(history.recordSample('i1', { cpuPercent: Number.NaN }, START)).rejects.toThrow(ValidationError);
    await expect(history.recordSample('i1', { memoryBytes: -1 }, START)).rejects.toMatchObject({ field: 'memoryBytes' });
  });
});

import { describe, expect, it } from 'vitest';
import { rangeOf } from './metrics-range.ts';
import { xRange } from './x-range.ts';

const TO = Date.UTC(2026, 10, 22, 22, 17, 30); // the answer's `to`, ms
const FROM = TO - 3600_000; // the last hour
const T = TO / 1000; // seconds

describe('xRange (the charts\' time axis, seconds)', () => {
  it('"Last hour" spans the hour, however few points it holds (not a few minutes)', () => {
    const hour = rangeOf('1h');
    const from = TO - hour.ms;
    for (const x of [[], [T - 10], [T - 40, T - 30, T - 20, T - 10], Array.from({ length: 60 }, (_, i) => T - 600 + i * 10)]) {
      const [min, max] = xRange(x, from, TO);
      expect(max - min).toBe(3600);
      expect(max).toBe(T);
    }
  });

  it('every range picked is drawn whole', () => {
    for (const id of ['15m', '6h', '24h', '7d']) {
      const r = rangeOf(id);
      const [min, max] = xRange([T - 10], TO - r.ms, TO);
      expect((max - min) * 1000).toBe(r.ms);
    }
  });

  it('a lone point does not stretch the axis to years', () => {
    const [min, max] = xRange([T - 10], FROM, TO);
    expect([min, max]).toEqual([T - 3600, T]);
  });

  it('a point outside the window (a clock set wrong) widens it to the point', () => {
    expect(xRange([T + 5], FROM, TO)).toEqual([T - 3600, T + 5]);
    expect(xRange([T - 4000, T], FROM, TO)).toEqual([T - 4000, T]);
  });

  it('an empty window still gives uPlot a scale', () => {
    expect(xRange([], TO, TO)).toEqual([T - 60, T]);
  });

  it('takes typed arrays as uPlot may hold them', () => {
    expect(xRange(Float64Array.of(T - 10), FROM, TO)).toEqual([T - 3600, T]);
  });
});

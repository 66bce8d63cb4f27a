import { describe, expect, it } from 'vitest';
import { MIN_SPAN_S, xRange } from './x-range.ts';

const TO = Date.UTC(2026, 10, 22, 22, 17, 30); // the answer's `to`, ms
const FROM = TO - 3600_000; // the last hour
const T = TO / 1000; // seconds

describe('xRange (the charts\' time axis, seconds)', () => {
  it('a lone point: the last five minutes up to the window\'s end, not years', () => {
    const [min, max] = xRange([T - 10], FROM, TO);
    expect(max).toBe(T);
    expect(min).toBe(T - MIN_SPAN_S);
    expect(min).toBeLessThanOrEqual(T - 10);
  });

  it('no points yet: the last five minutes', () => {
    expect(xRange([], FROM, TO)).toEqual([T - MIN_SPAN_S, T]);
  });

  it('a few points: still five minutes, all of them inside', () => {
    const x = [T - 40, T - 30, T - 20, T - 10];
    expect(xRange(x, FROM, TO)).toEqual([T - MIN_SPAN_S, T]);
  });

  it('points older than five minutes: from the first of them', () => {
    const x = Array.from({ length: 60 }, (_, i) => T - 600 + i * 10);
    expect(xRange(x, FROM, TO)).toEqual([T - 600, T]);
  });

  it('never before the window\'s start, even for a young window', () => {
    const from = TO - 120_000; // a window of two minutes
    expect(xRange([T - 100], from, TO)).toEqual([T - 120, T]);
  });

  it('a point after the window\'s end (clock skew) widens it to the point', () => {
    expect(xRange([T + 5], FROM, TO)).toEqual([T + 5 - MIN_SPAN_S, T + 5]);
  });

  it('takes typed arrays as uPlot may hold them', () => {
    expect(xRange(Float64Array.of(T - 10), FROM, TO)).toEqual([T - MIN_SPAN_S, T]);
  });
});

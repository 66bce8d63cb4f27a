import { describe, expect, it } from 'vitest';
import { bytes } from './numbers.ts';
import { axisWidth, BYTE_STEPS, loneSamples } from './y-axis.ts';

describe('the charts\' value axes', () => {
  it('steps bytes in round binary units', () => {
    const MiB = 2 ** 20;
    expect(BYTE_STEPS).toContain(64 * MiB);
    expect(BYTE_STEPS).toContain(2 ** 30);
    // A few steps of each size read as round labels in bytes()' units.
    for (const step of [256 * 1024, 64 * MiB, 512 * MiB, 2 ** 30]) {
      for (const k of [1, 2, 3]) expect(bytes(k * step)).toMatch(/^\d+(\.5)? (KiB|MiB|GiB)$/);
    }
  });

  it('is as wide as its widest label, never narrower than the minimum', () => {
    const measure = (t: string) => t.length * 7; // 7 px a character
    expect(axisWidth(['0 B', '488 KiB', '977 KiB'], measure, 15)).toBe(7 * 7 + 15 + 1);
    expect(axisWidth(['0/s', '1/s'], measure, 15)).toBe(40);
    expect(axisWidth([null, '1.5 GiB', ''], measure, 15, 10)).toBe(65);
  });

  it('marks only the samples a line cannot show', () => {
    // Between gaps, a lone sample draws no line: it gets a dot; neighbours make a line and get none.
    expect(loneSamples([null, 3, null, 4, 5, null, 6], false)).toEqual([1, 6]);
    expect(loneSamples(Array.from({ length: 360 }, () => 1), false)).toEqual([]);
    // A joined line (latency) draws across gaps: only a single sample has nothing to join.
    expect(loneSamples([null, 3, null, null, 4], true)).toEqual([]);
    expect(loneSamples([null, null, 7, null], true)).toEqual([2]);
    expect(loneSamples([null, null], true)).toEqual([]);
  });
});

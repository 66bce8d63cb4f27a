import { describe, expect, it } from 'vitest';
import { bytes, count, ms, percent, rate } from './numbers.ts';

describe('instance page numbers', () => {
  it('writes counts with separators, then k, M and G', () => {
    expect([0, 7, 950, 1204, 9999, 12_345, 999_499, 4_500_000, 2e9].map(count)).toEqual(['0', '7', '950', '1,204', '9,999', '12.3k', '999k', '4.5M', '2G']);
    expect(count(Number.NaN)).toBe('—');
  });

  it('writes rates, latencies, percentages and bytes', () => {
    expect([0, 0.05, 0.4, 3.2, 120, 1500].map(rate)).toEqual(['0/s', '0.05/s', '0.4/s', '3.2/s', '120/s', '1,500/s']);
    expect([0.4, 4, 12.6, 250, 1300].map(ms)).toEqual(['0.4 ms', '4 ms', '13 ms', '250 ms', '1.3 s']);
    expect([0, 4.25, 87, 100].map(percent)).toEqual(['0%', '4.3%', '87%', '100%']);
    expect([512, 1536, 48 * 2 ** 20, 2 * 2 ** 30, 3 * 2 ** 40].map(bytes)).toEqual(['512 B', '1.5 KiB', '48 MiB', '2 GiB', '3 TiB']);
  });
});

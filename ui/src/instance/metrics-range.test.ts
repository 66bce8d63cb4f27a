import { describe, expect, it } from 'vitest';
import { DEFAULT_RANGE, metricsPath, rangeOf, refreshWords, RANGES } from './metrics-range.ts';

describe('the charts\' time range', () => {
  it('reads the address, falling back to the last hour', () => {
    expect(rangeOf('6h').ms).toBe(6 * 3_600_000);
    expect(rangeOf(null)).toBe(DEFAULT_RANGE);
    expect(rangeOf('1y')).toBe(DEFAULT_RANGE);
    expect(DEFAULT_RANGE.id).toBe('1h');
  });

  it('asks control from the start of the range up to now', () => {
    const now = Date.UTC(2026, 10, 23, 1, 0, 0);
    expect(metricsPath('i-a b', rangeOf('24h'), now)).toBe(`/api/v1/instances/i-a%20b/metrics?from=${now - 86_400_000}`);
  });

  it('reads longer ranges less often, and says how often', () => {
    const refresh = RANGES.map((r) => r.refreshMs);
    expect(refresh).toEqual([...refresh].sort((a, b) => a - b));
    expect(refreshWords(rangeOf('1h'))).toBe('Refreshed every 5 seconds');
    expect(refreshWords(rangeOf('7d'))).toBe('Refreshed every minute');
  });
});

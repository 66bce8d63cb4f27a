import { describe, expect, it } from 'vitest';
import { parseRedisCsv } from './redis-benchmark.ts';

const CSV = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","75700.23","0.351","0.096","0.335","0.535","0.935","2.575"
`;

describe('parseRedisCsv', () => {
  it('reads req/s and the percentiles of the requested test', () => {
    expect(parseRedisCsv(CSV, 'SET')).toEqual({ rps: 75700.23, p50Ms: 0.335, p99Ms: 0.935, errors: 0, errorLines: [] });
  });

  it('counts every other line as an error', () => {
    const r = parseRedisCsv(`Error: Server closed the connection\n${CSV}`, 'SET');
    expect(r.errors).toBe(1);
    expect(r.errorLines).toEqual(['Error: Server closed the connection']);
  });

  it('refuses output without the row of the test', () => {
    expect(() => parseRedisCsv(CSV, 'GET')).toThrow(/no GET result/);
  });
});

import { describe, expect, it } from 'vitest';
import { combineWrk, parseWrk } from './wrk.ts';

// The live smoke test sees only clean runs; these are the lines wrk adds when things fail.
const WITH_ERRORS = `Running 10s test @ https://127.0.0.1:8443/small
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.46ms    1.02ms  18.23ms   89.12%
    Req/Sec    11.27k   530.01    12.03k    80.00%
  Latency Distribution
     50%  828.00us
     75%    4.63ms
     90%    5.25ms
     99%    1.20s
  112231 requests in 10.00s, 16.24MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  11222.36
Transfer/sec:      1.62MB
`;

describe('parseWrk', () => {
  it('reads counts, percentiles in any unit, bytes and every kind of error', () => {
    const r = parseWrk(WITH_ERRORS);
    expect(r).toMatchObject({ requests: 112231, seconds: 10, rps: 11222.36, p99Ms: 1200, non2xx: 12, errors: 22 });
    expect(r.p50Ms).toBeCloseTo(0.828);
    expect(r.socketErrors).toEqual({ connect: 1, read: 2, write: 3, timeout: 4 });
    expect(r.bytesRead).toBe(Math.round(16.24 * 1024 ** 2));
  });

  it('reads a clean run as zero errors', () => {
    const clean = WITH_ERRORS.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    expect(parseWrk(clean).errors).toBe(0);
  });

  it('refuses output without a latency distribution (wrk run without --latency)', () => {
    expect(() => parseWrk(WITH_ERRORS.replace(/ {5}50%.*\n/, ''))).toThrow(/50% latency/);
  });

  it('combines rounds into one result, weighting percentiles by requests', () => {
    const a = parseWrk(WITH_ERRORS);
    const both = combineWrk([a, { ...a, requests: a.requests * 3, p50Ms: 2 }]);
    expect(both.requests).toBe(a.requests * 4);
    expect(both.rps).toBeCloseTo((a.requests * 4) / 20);
    expect(both.p50Ms).toBeCloseTo((0.828 + 3 * 2) / 4);
    expect(both.errors).toBe(44);
  });
});

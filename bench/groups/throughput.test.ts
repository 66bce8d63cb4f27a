import { describe, expect, it } from 'vitest';
import type { CpuPerRequest } from '../load/cpu-per-request.ts';
import { combineCpu, throughputRounds } from './throughput.ts';

const run = (requests: number, seconds: number, cpuSeconds: number, meanMs: number): CpuPerRequest => ({
  load: { protocol: 'h2', requests, succeeded: requests, errors: 0, non2xx: 0, seconds, rps: requests / seconds, meanMs, bytesRead: requests * 100 },
  cpuSeconds,
  processes: 1,
  usPerRequest: (cpuSeconds * 1e6) / requests,
});

describe('the throughput rounds', () => {
  it('adds up a peer\'s rounds: CPU over requests, requests over seconds, a request-weighted mean', () => {
    const both = combineCpu([run(50_000, 5, 5, 2), run(50_000, 10, 10, 4)]);
    expect(both.usPerRequest).toBeCloseTo(150);
    expect(both.load.rps).toBeCloseTo(100_000 / 15);
    expect(both.load.meanMs).toBeCloseTo(3);
    expect([both.load.requests, both.load.succeeded, both.load.bytesRead]).toEqual([100_000, 100_000, 10_000_000]);
  });

  it('takes two rounds in a real run and one in the smoke run', () => {
    expect([throughputRounds(5), throughputRounds(1)]).toEqual([2, 1]);
  });
});

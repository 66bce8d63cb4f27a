import { deflateSync } from 'node:zlib';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../protocol/validate.ts';
import { decodeLatency, parseGatewayDelta } from './gateway-delta.ts';

/** A latency histogram as the gateway keeps it (gateway/metrics/route-stats.ts), in µs. */
function latency(valuesUs: number[], options: { digits?: number } = {}): string {
  const h = build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: (options.digits ?? 2) as 2, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: false, useWebAssembly: false });
  for (const v of valuesUs) h.recordValue(v);
  return encodeIntoCompressedBase64(h);
}

function delta(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    route: 'r1', instance: 'r1', interval: { from: 1_000_000, to: 1_005_000 },
    requests: 3, codes: { '200': 2, '502': 1 }, bytesIn: 100, bytesOut: 2_000,
    latency: latency([1_000, 2_000, 50_000]),
    ...overrides,
  };
}

function fieldOf(value: unknown, prefix?: string): string {
  try {
    parseGatewayDelta(value, prefix);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

describe('parseGatewayDelta', () => {
  it('accepts what a gateway sends', () => {
    const d = parseGatewayDelta(delta());
    expect(d).toMatchObject({ route: 'r1', requests: 3, codes: { '200': 2, '502': 1 } });
    expect(decodeLatency(d.latency).totalCount).toBe(3);
    // A TCP route's delta: bytes, no requests, an empty histogram.
    expect(parseGatewayDelta(delta({ requests: 0, codes: {}, latency: latency([]) })).requests).toBe(0);
  });

  it('names the field of each mistake', () => {
    expect(fieldOf('nope', 'delta')).toBe('delta');
    expect(fieldOf(delta({ route: 'Bad_Route' }))).toBe('route');
    expect(fieldOf({ ...delta(), route: undefined })).toBe('route');
    expect(fieldOf(delta({ extra: 1 }))).toBe('extra');
    expect(fieldOf(delta({ interval: { from: 5, to: 5 } }))).toBe('interval.to');
    expect(fieldOf(delta({ interval: { from: 5, to: 'later' } }))).toBe('interval.to');
    expect(fieldOf(delta({ interval: { from: 0, to: 3_600_001 } }))).toBe('interval');
    expect(fieldOf(delta({ interval: [1, 2] }))).toBe('interval');
    expect(fieldOf(delta({ requests: 1.5 }))).toBe('requests');
    expect(fieldOf(delta({ bytesOut: -1 }))).toBe('bytesOut');
    expect(fieldOf(delta({ codes: { '200': 2, '502': 2 } }))).toBe('codes');
    expect(fieldOf(delta({ codes: { '200': -1 } }))).toBe('codes[200]');
    expect(fieldOf(delta({ codes: { '200': 2, '600': 1 } }))).toBe('codes[600]');
    expect(fieldOf(delta({ codes: { ok: 3 } }))).toBe('codes.ok');
    expect(fieldOf(delta({ latency: 'not base64!' }))).toBe('latency');
    expect(fieldOf(delta({ latency: Buffer.from('just some bytes here').toString('base64') }))).toBe('latency');
    expect(fieldOf(delta({ latency: latency([1_000]) }))).toBe('latency'); // one value for three requests
    expect(fieldOf(delta({ latency: 'A'.repeat(70_000) }))).toBe('latency');
    expect(fieldOf(delta({ requests: 'many' }), 'deltas[3]')).toBe('deltas[3].requests');
  });

  it('refuses histograms that would be costly to decode', () => {
    // More precision than control keeps: a counts array of many MiB.
    expect(fieldOf(delta({ latency: latency([1_000, 2_000, 50_000], { digits: 5 }) }))).toBe('latency');
    // A decompression bomb: 16 MiB of zeros behind a valid compressed-histogram cookie.
    const body = deflateSync(Buffer.alloc(16 << 20));
    const head = Buffer.alloc(8);
    head.writeInt32BE(0x1c849314, 0);
    head.writeInt32BE(body.length, 4);
    const bomb = Buffer.concat([head, body]).toString('base64');
    expect(bomb.length).toBeLessThan(65_536);
    expect(() => decodeLatency(bomb)).toThrow(/inflate/);
    expect(fieldOf(delta({ latency: bomb }))).toBe('latency');
  });
});

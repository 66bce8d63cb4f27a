import { inflateSync } from 'node:zlib';
import { Type, type Static } from '@sinclair/typebox';
import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { parse, ValidationError } from '../../protocol/validate.ts';

/*
 * What a gateway pushes to control every few seconds, one per route that saw traffic:
 *
 *   { "route": "r1", "instance": "r1", "interval": { "from": 1735689600000, "to": 1735689605000 },
 *     "requests": 12, "codes": { "200": 11, "502": 1 }, "bytesIn": 1024, "bytesOut": 8192,
 *     "latency": "HISTFAAAA…" }
 *
 * - `interval`: Unix ms, `from` < `to`, at most MAX_INTERVAL_MS long: what the counts cover.
 * - `requests`: requests completed in the interval; `codes` counts them by status and must
 *   add up to `requests`.
 * - `bytesIn`/`bytesOut`: body bytes from and to clients (TCP routes: bytes piped).
 * - `latency`: an HDR histogram of the requests' durations in microseconds (the unit
 *   gateway/metrics/route-stats.ts records in), `encodeIntoCompressedBase64` of
 *   hdr-histogram-js, one value per request. A histogram comes with its own value range and
 *   precision; control refuses one that would cost more than a few hundred KiB to decode
 *   (over MAX_SIGNIFICANT_DIGITS digits or values past MAX_TRACKABLE_US), or that inflates
 *   past MAX_INFLATED_BYTES.
 *
 * Control attributes a delta to an instance by its own route table; `instance` is what the
 * gateway believed, kept for logs.
 */

export const MAX_INTERVAL_MS = 3_600_000; // one hour
export const MAX_LATENCY_CHARS = 65_536; // base64 characters
export const MAX_INFLATED_BYTES = 1 << 20; // 1 MiB
export const MAX_SIGNIFICANT_DIGITS = 3;
export const MAX_TRACKABLE_US = 2 ** 43; // about 100 days

const Label = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', description: 'a DNS label (a-z, 0-9 and inner dashes, at most 63)' });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'a whole number, 0 or more' });
const UnixMs = Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'a time in Unix milliseconds' });

export const GatewayDelta = Type.Object({
  route: Label,
  instance: Label,
  interval: Type.Object({ from: UnixMs, to: UnixMs }, { additionalProperties: false }),
  requests: Count,
  codes: Type.Record(Type.String({ pattern: '^[1-5][0-9]{2}$' }), Count, { additionalProperties: false, description: 'an object of HTTP status codes (100-599) to counts' }),
  bytesIn: Count,
  bytesOut: Count,
  latency: Type.String({ minLength: 8, maxLength: MAX_LATENCY_CHARS, pattern: '^[A-Za-z0-9+/]+={0,2}$', description: 'an HDR histogram, compressed and base64-encoded' }),
}, { additionalProperties: false });
export type GatewayDelta = Static<typeof GatewayDelta>;

/**
 * Checks a delta; throws a ValidationError naming the field (`delta.interval.to`,
 * `deltas[3].latency` with that prefix). Returns it typed.
 */
export function parseGatewayDelta(value: unknown, prefix = ''): GatewayDelta {
  const delta = parse(GatewayDelta, value, prefix);
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (delta.interval.to <= delta.interval.from) throw new ValidationError(at('interval.to'), 'must be after interval.from');
  if (delta.interval.to - delta.interval.from > MAX_INTERVAL_MS) throw new ValidationError(at('interval'), `must span at most ${MAX_INTERVAL_MS} ms`);
  const coded = Object.values(delta.codes).reduce((sum, n) => sum + n, 0);
  if (coded !== delta.requests) throw new ValidationError(at('codes'), `must add up to requests (${coded} counted, ${delta.requests} requests)`);
  let histogram: Histogram;
  try {
    histogram = decodeLatency(delta.latency);
  } catch (err) {
    throw new ValidationError(at('latency'), `must be ${(err as Error).message}`);
  }
  if (histogram.totalCount !== delta.requests) {
    throw new ValidationError(at('latency'), `must hold one value per request (${histogram.totalCount} values, ${delta.requests} requests)`);
  }
  return delta;
}

const COMPRESSED_COOKIE = 0x1c849304; // HdrHistogram V2 compressed encoding, word-size nibble masked
const ENCODING_COOKIE = 0x1c849303; // HdrHistogram V2 encoding

/**
 * Decodes a latency histogram after checking its header, so that a hostile or broken one can
 * neither inflate into a large buffer nor declare a counts array of many MiB.
 */
export function decodeLatency(base64: string): Histogram {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length < 8 || (bytes.readInt32BE(0) & ~0xf0) !== COMPRESSED_COOKIE) throw new Error('an HDR histogram (no V2 compressed cookie)');
  const length = bytes.readInt32BE(4);
  if (length <= 0 || length > bytes.length - 8) throw new Error('an HDR histogram (truncated)');
  let header: Buffer;
  try {
    header = inflateSync(bytes.subarray(8, 8 + length), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    throw new Error(`an HDR histogram (does not inflate within ${MAX_INFLATED_BYTES} bytes)`);
  }
  if (header.length < 40 || (header.readInt32BE(0) & ~0xf0) !== ENCODING_COOKIE) throw new Error('an HDR histogram (no V2 cookie)');
  const digits = header.readInt32BE(12);
  const lowest = Number(header.readBigInt64BE(16));
  const highest = Number(header.readBigInt64BE(24));
  if (digits < 1 || digits > MAX_SIGNIFICANT_DIGITS) throw new Error(`an HDR histogram of 1 to ${MAX_SIGNIFICANT_DIGITS} significant digits`);
  if (lowest < 1 || highest > MAX_TRACKABLE_US || highest < 2 * lowest) throw new Error(`an HDR histogram of values up to ${MAX_TRACKABLE_US} µs`);
  let histogram: Histogram;
  try {
    histogram = decodeFromCompressedBase64(base64, 32, false);
  } catch {
    throw new Error('an HDR histogram (its counts do not decode)');
  }
  if (!Number.isSafeInteger(histogram.totalCount) || histogram.totalCount < 0) throw new Error('an HDR histogram with non-negative counts');
  return histogram;
}

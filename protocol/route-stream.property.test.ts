import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRoute, type Route } from './route.ts';
import { deltaLine, parseRouteStreamLine, snapshotLine } from './route-stream.ts';
import { ValidationError } from './validate.ts';

/*
 * Hostile input (issue 19): a gateway reads every line of the route stream, and a routes file
 * through the same parsers. Random text, random JSON and mutated good lines are read or refused
 * with a ValidationError, nothing else; good snapshots and deltas round-trip.
 */

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 });
const httpRoute = fc.record({ id: label, target: port.map((p) => `http://127.0.0.1:${p}`), instance: label, public: fc.boolean() });
const tcpRoute = fc.record({ id: label, kind: fc.constant('tcp'), target: port.map((p) => `tcp://127.0.0.1:${p}`), instance: label, port });
const routes = fc.uniqueArray(fc.oneof(httpRoute, tcpRoute), { selector: (r) => r.id, maxLength: 8 }).map((list) => list.map((r) => parseRoute(r)));

/** Reads a line; returns 'refused' for the parser's own error, and fails the property on any other throw. */
function read(line: string): unknown {
  try {
    return parseRouteStreamLine(line);
  } catch (err) {
    if (err instanceof ValidationError) return 'refused';
    throw err;
  }
}

describe('the route stream under hostile input', () => {
  it('reads or refuses random text and random JSON, with its own error only', () => {
    fc.assert(fc.property(fc.string({ maxLength: 500 }), (text) => { read(text); }), { numRuns: 3_000 });
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), (json) => { read(json); }), { numRuns: 3_000 });
    // Objects shaped like messages, every field of any JSON type.
    const messageish = fc.record({
      type: fc.constantFrom('snapshot', 'delta', 'ping', 'sessions', 'other'),
      version: fc.jsonValue(), epoch: fc.jsonValue(), routes: fc.jsonValue(), upsert: fc.jsonValue(), remove: fc.jsonValue(), sessions: fc.jsonValue(), key: fc.jsonValue(), revoked: fc.jsonValue(),
    }, { requiredKeys: ['type'] });
    fc.assert(fc.property(messageish, (m) => { read(JSON.stringify(m)); }), { numRuns: 3_000 });
  });

  it('round-trips good snapshots and deltas', () => {
    fc.assert(fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), label, routes, (version, epoch, list) => {
      expect(read(snapshotLine(version, epoch, list).trimEnd())).toEqual({ type: 'snapshot', version, epoch, routes: list, errors: [] });
    }), { numRuns: 500 });
    // A delta follows a version: 1 or more.
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), routes, fc.uniqueArray(label, { maxLength: 5 }), (version, upsert, removeAll) => {
      const remove = removeAll.filter((id) => !upsert.some((r: Route) => r.id === id));
      expect(read(deltaLine(version, upsert, remove).trimEnd())).toEqual({ type: 'delta', version, upsert, remove, errors: [] });
    }), { numRuns: 500 });
  });

  it('accepts only route ids that are safe as Prometheus label values, as written, with no escaping', () => {
    // The gateway writes route ids straight into label values (gateway/metrics/prometheus.ts).
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 70 }), label), (id) => {
      let accepted = true;
      try {
        parseRoute({ id, target: 'http://127.0.0.1:1' });
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        accepted = false;
      }
      if (accepted) expect(id).toMatch(/^[a-z0-9-]+$/);
    }), { numRuns: 5_000 });
  });

  it('reads or refuses good lines with characters changed, cut short or repeated', () => {
    const mutated = fc.tuple(fc.nat(), label, routes, fc.array(fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })), { minLength: 1, maxLength: 6 }), fc.nat())
      .map(([version, epoch, list, changes, cut]) => {
        const chars = [...snapshotLine(version, epoch, list).trimEnd()];
        for (const [at, c] of changes) chars[at % chars.length] = c;
        const text = chars.join('');
        return text.slice(0, Math.max(1, text.length - (cut % 5)));
      });
    fc.assert(fc.property(mutated, (text) => { read(text); }), { numRuns: 3_000 });
  });
});

import { describe, expect, it } from 'vitest';
import { parseRoute } from './route.ts';
import { deltaLine, parseRouteStreamLine, pingLine, sessionsLine, snapshotLine, type DeltaMessage, type SnapshotMessage } from './route-stream.ts';
import { ValidationError } from './validate.ts';

function fieldOf(line: string): string {
  try {
    parseRouteStreamLine(line);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

const line = (value: unknown) => JSON.stringify(value);

describe('parseRouteStreamLine', () => {
  it('reads a snapshot, filling each route\'s defaults', () => {
    const m = parseRouteStreamLine(line({ type: 'snapshot', version: 7, epoch: 'e1', routes: [{ id: 'r1', target: 'http://127.0.0.1:1/' }] })) as SnapshotMessage;
    expect(m).toEqual({ type: 'snapshot', version: 7, epoch: 'e1', routes: [parseRoute({ id: 'r1', target: 'http://127.0.0.1:1' })], errors: [] });
  });

  it('skips a bad route of a snapshot and names its field, keeping the others', () => {
    const m = parseRouteStreamLine(line({
      type: 'snapshot', version: 1, epoch: 'e1',
      routes: [{ id: 'a', target: 'http://x:1' }, { id: 'b', target: 'ftp://x' }, { id: 'a', target: 'http://x:2' }, { target: 'http://x:3' }],
    })) as SnapshotMessage;
    expect(m.routes.map((r) => r.id)).toEqual(['a']);
    expect(m.errors.map((e) => [e.field, e.route])).toEqual([['routes[1].target', 'b'], ['routes[2].id', 'a'], ['routes[3].id', undefined]]);
  });

  it('reads a delta; a bad entry is refused while the others apply', () => {
    const m = parseRouteStreamLine(line({
      type: 'delta', version: 3,
      upsert: [{ id: 'a', target: 'http://x:1' }, { id: 'b', target: 'http://x:1', public: 'yes' }, { id: 'c', kind: 'tcp', target: 'tcp://x:2' }, { id: 'd', target: 'http://x:1' }],
      remove: ['z', 'Bad Id', 7, 'z', 'd'],
    })) as DeltaMessage;
    expect(m.upsert.map((r) => r.id)).toEqual(['a', 'c']);
    expect(m.remove).toEqual(['z', 'd']);
    expect(m.errors.map((e) => [e.field, e.route])).toEqual([
      ['remove[1]', undefined], ['remove[2]', undefined], ['remove[3]', 'z'], ['upsert[1].public', 'b'], ['upsert[3].id', 'd'],
    ]);
  });

  it('carries an app that is starting as a route without a target, then its routed replacement', () => {
    const starting = parseRouteStreamLine(deltaLine(1, [parseRoute({ id: 'r1', status: 'starting' })], [])) as DeltaMessage;
    expect(starting).toEqual({ type: 'delta', version: 1, upsert: [{ id: 'r1', kind: 'http', instance: 'r1', public: false, status: 'starting', headers: {} }], remove: [], errors: [] });
    const ready = parseRouteStreamLine(deltaLine(2, [parseRoute({ id: 'r1', target: 'http://127.0.0.1:5' })], [])) as DeltaMessage;
    expect(ready.upsert).toEqual([parseRoute({ id: 'r1', target: 'http://127.0.0.1:5' })]);
    // Only a starting route may lack its target: an active one without is refused by its field.
    const bad = parseRouteStreamLine(line({ type: 'snapshot', version: 3, epoch: 'e1', routes: [{ id: 'r2' }, { id: 'r3', status: 'starting' }] })) as SnapshotMessage;
    expect(bad.routes.map((r) => r.id)).toEqual(['r3']);
    expect(bad.errors.map((e) => [e.field, e.route])).toEqual([['routes[0].target', 'r2']]);
  });

  it('fills an absent upsert or remove with an empty list', () => {
    expect(parseRouteStreamLine(line({ type: 'delta', version: 1, remove: ['a'] }))).toEqual({ type: 'delta', version: 1, upsert: [], remove: ['a'], errors: [] });
    expect(parseRouteStreamLine(line({ type: 'delta', version: 1 }))).toEqual({ type: 'delta', version: 1, upsert: [], remove: [], errors: [] });
  });

  it('reads a ping', () => {
    expect(parseRouteStreamLine('{"type":"ping","version":12}')).toEqual({ type: 'ping', version: 12 });
  });

  it('ignores unknown fields of a message, so control can add some', () => {
    expect(parseRouteStreamLine(line({ type: 'ping', version: 1, at: 123 }))).toEqual({ type: 'ping', version: 1 });
  });

  it('refuses a line that is not a message, naming the field', () => {
    expect(fieldOf('{"type":"snap')).toBe('');
    expect(fieldOf('[]')).toBe('');
    expect(fieldOf('"ping"')).toBe('');
    expect(fieldOf(line({ type: 'hello', version: 1 }))).toBe('type');
    expect(fieldOf(line({ version: 1 }))).toBe('type');
    expect(fieldOf(line({ type: 'ping', version: -1 }))).toBe('version');
    expect(fieldOf(line({ type: 'ping', version: 1.5 }))).toBe('version');
    expect(fieldOf(line({ type: 'delta', version: 0 }))).toBe('version');
    expect(fieldOf(line({ type: 'delta', version: 1, upsert: {} }))).toBe('upsert');
    expect(fieldOf(line({ type: 'snapshot', version: 1, routes: [] }))).toBe('epoch');
    expect(fieldOf(line({ type: 'snapshot', version: 1, epoch: 'e', routes: {} }))).toBe('routes');
  });

  it('never quotes a header value in an error: they are secrets', () => {
    const m = parseRouteStreamLine(line({ type: 'delta', version: 1, upsert: [{ id: 'a', target: 'http://x:1', headers: { Authorization: 'token s3cret\n' } }] })) as DeltaMessage;
    expect(m.errors).toHaveLength(1);
    expect(JSON.stringify(m.errors)).not.toContain('s3cret');
  });
});

describe('encoding', () => {
  it('writes one line per message that reads back the same', () => {
    const routes = [parseRoute({ id: 'a', target: 'http://x:1' }), parseRoute({ id: 'b', kind: 'tcp', target: 'tcp://x:2', port: 20001 })];
    const lines = [snapshotLine(4, 'e-1', routes), deltaLine(5, [routes[0]], ['b']), pingLine(5)];
    for (const l of lines) {
      expect(l.endsWith('\n')).toBe(true);
      expect(l.indexOf('\n')).toBe(l.length - 1);
    }
    expect(parseRouteStreamLine(lines[0].trim())).toEqual({ type: 'snapshot', version: 4, epoch: 'e-1', routes, errors: [] });
    expect(parseRouteStreamLine(lines[1].trim())).toEqual({ type: 'delta', version: 5, upsert: [routes[0]], remove: ['b'], errors: [] });
    expect(parseRouteStreamLine(lines[2].trim())).toEqual({ type: 'ping', version: 5 });
  });
});

describe('app sessions on the stream', () => {
  const key = 'A'.repeat(22) + '_-' + 'b'.repeat(19); // 43 base64url characters: 32 bytes
  const revoked = [{ user: 'u-1', instance: '*', before: 1_767_225_600_000 }, { user: 'u-2', instance: 'r1', before: 1_767_225_600_001 }];

  it('reads the state in a snapshot and as a sessions line, both written by the encoders', () => {
    const snap = parseRouteStreamLine(snapshotLine(3, 'e1', [], { key, revoked }).trim()) as SnapshotMessage;
    expect(snap.sessions).toEqual({ key, revoked });
    expect(parseRouteStreamLine(sessionsLine({ key, revoked }).trim())).toEqual({ type: 'sessions', key, revoked });
    // A control that hands out no sessions sends a snapshot without them.
    expect((parseRouteStreamLine(snapshotLine(3, 'e1', []).trim()) as SnapshotMessage).sessions).toBeUndefined();
  });

  it('refuses a malformed state by its field, never quoting the key', () => {
    const cases: [unknown, string][] = [
      [{ type: 'sessions', key: 'short', revoked: [] }, 'key'],
      [{ type: 'sessions', key, revoked: [{ user: 'u-1', instance: 'Not A Label', before: 1 }] }, 'revoked[0].instance'],
      [{ type: 'sessions', key, revoked: [{ user: 'u-1', instance: '*', before: -1 }] }, 'revoked[0].before'],
      [{ type: 'sessions', key, revoked: [{ user: '', instance: '*', before: 1 }] }, 'revoked[0].user'],
      [{ type: 'sessions', key }, 'revoked'],
      [{ type: 'snapshot', version: 1, epoch: 'e', routes: [], sessions: { key: `${key}!`, revoked: [] } }, 'sessions.key'],
      [{ type: 'snapshot', version: 1, epoch: 'e', routes: [], sessions: { key, revoked: [], extra: 1 } }, 'sessions.extra'],
    ];
    for (const [value, field] of cases) {
      expect(fieldOf(line(value)), JSON.stringify(value)).toBe(field);
      try {
        parseRouteStreamLine(line(value));
      } catch (err) {
        expect((err as Error).message).not.toContain(key);
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { expired, lineageRoots } from './retention.ts';

const H = 3_600_000;
const NOW = 1_000 * H;

describe('lineageRoots', () => {
  it('follows restoredFrom to the first instance, through chains and past cycles', () => {
    const roots = lineageRoots([
      { id: 'a', restoredFrom: null }, { id: 'b', restoredFrom: 'a' }, { id: 'c', restoredFrom: 'b' },
      { id: 'x', restoredFrom: 'y' }, { id: 'y', restoredFrom: 'x' }, { id: 'z', restoredFrom: 'gone' },
    ]);
    expect(roots.get('a')).toBe('a');
    expect(roots.get('b')).toBe('a');
    expect(roots.get('c')).toBe('a');
    expect(roots.get('z')).toBe('gone');
    expect(['x', 'y']).toContain(roots.get('x'));
  });
});

describe('expired', () => {
  const roots = lineageRoots([{ id: 'a', restoredFrom: null }, { id: 'b', restoredFrom: 'a' }, { id: 'q', restoredFrom: null }]);
  const snaps = [
    { id: 's1', instance: 'a', created: NOW - 50 * H },
    { id: 's2', instance: 'a', created: NOW - 40 * H },
    { id: 's3', instance: 'b', created: NOW - 30 * H },
    { id: 's4', instance: 'b', created: NOW - 1 * H },
    { id: 'q1', instance: 'q', created: NOW - 900 * H },
  ];

  it('keeps the last N per lineage', () => {
    expect(expired(snaps, roots, { keepLast: 2, maxAgeMs: Infinity }, NOW).sort()).toEqual(['s1', 's2']);
    expect(expired(snaps, roots, { keepLast: 10, maxAgeMs: Infinity }, NOW)).toEqual([]);
  });

  it('deletes past the maximum age but always keeps a lineage\'s newest', () => {
    expect(expired(snaps, roots, { keepLast: 10, maxAgeMs: 35 * H }, NOW).sort()).toEqual(['s1', 's2']);
    expect(expired(snaps, roots, { keepLast: 10, maxAgeMs: 0 }, NOW).sort()).toEqual(['s1', 's2', 's3']);
  });

  it('treats keepLast below 1 as 1 and keeps protected snapshots', () => {
    expect(expired(snaps, roots, { keepLast: 0, maxAgeMs: Infinity }, NOW, new Set(['s2'])).sort()).toEqual(['s1', 's3']);
  });

  it('breaks ties in time by id, stably', () => {
    const tie = [{ id: 'a1', instance: 'a', created: NOW }, { id: 'a2', instance: 'a', created: NOW }];
    expect(expired(tie, roots, { keepLast: 1, maxAgeMs: Infinity }, NOW)).toEqual(['a1']);
    expect(expired([...tie].reverse(), roots, { keepLast: 1, maxAgeMs: Infinity }, NOW)).toEqual(['a1']);
  });
});

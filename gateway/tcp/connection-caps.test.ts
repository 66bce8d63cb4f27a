import { describe, expect, it } from 'vitest';
import { LocalConnectionCaps } from './connection-caps.ts';

describe('LocalConnectionCaps', () => {
  it('caps connections per key and in total, and gives them back on close', () => {
    const caps = new LocalConnectionCaps({ total: 3, perKey: 2 });
    expect([caps.open('a'), caps.open('a'), caps.open('a')]).toEqual([true, true, false]);
    expect(caps.open('b')).toBe(true);
    expect(caps.open('c')).toBe(false); // three in total
    caps.close('a');
    expect(caps.open('c')).toBe(true);
    caps.close('unknown'); // nothing taken, nothing given back
    expect(caps.total).toBe(3);
  });
});

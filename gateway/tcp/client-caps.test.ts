import { describe, expect, it } from 'vitest';
import { LocalClientCaps } from './client-caps.ts';

describe('LocalClientCaps', () => {
  it('caps connections per address and in total, and gives them back on close', () => {
    const caps = new LocalClientCaps({ maxConnections: 3, maxConnectionsPerIp: 2 });
    expect([caps.open('a'), caps.open('a'), caps.open('a')]).toEqual([true, true, false]);
    expect(caps.open('b')).toBe(true);
    expect(caps.open('c')).toBe(false); // three in total
    caps.close('a');
    expect(caps.open('c')).toBe(true);
    caps.close('unknown'); // nothing taken, nothing given back
    expect(caps.total).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { OneTimeLinks } from './one-time-links.ts';

describe('OneTimeLinks', () => {
  it('accepts a jti once', () => {
    const links = new OneTimeLinks();
    expect(links.claim('a', 2_000, 1_000)).toBe(true);
    expect(links.claim('a', 2_000, 1_500)).toBe(false);
    expect(links.claim('b', 2_000, 1_500)).toBe(true);
  });

  it('forgets links once they have expired, and stays bounded', () => {
    const links = new OneTimeLinks(2);
    links.claim('a', 2_000, 1_000);
    links.claim('b', 5_000, 1_000);
    expect(links.claim('c', 5_000, 1_000)).toBe(false); // full of live links
    expect(links.claim('c', 5_000, 3_000)).toBe(true); // 'a' expired and was swept
    expect(links.size).toBe(2);
  });
});

import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalLinks, OneTimeLinks } from './one-time-links.ts';

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

describe('LocalLinks', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'wharf-links-'));
  const inAMinute = () => Math.floor(Date.now() / 1000) + 60;

  it('keeps used links in its file across a restart, and not expired ones', () => {
    const file = join(dir(), 'gateway', 'used-links');
    const first = new LocalLinks(file);
    expect(first.claim('link-0001', inAMinute())).toBe(true);
    expect(first.claim('link-0001', inAMinute())).toBe(false);
    expect(first.claim('link-gone', Math.floor(Date.now() / 1000) - 1)).toBe(true); // already expired
    first.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const restarted = new LocalLinks(file);
    expect(restarted.claim('link-0001', inAMinute())).toBe(false);
    expect(restarted.size).toBe(1); // the expired one was dropped when the file was read
    expect(restarted.claim('link-0002', inAMinute())).toBe(true);
    restarted.close();
    // The rewrite at start kept the live link; a line cut short by a crash is skipped.
    appendFileSync(file, '["link-cut",');
    const again = new LocalLinks(file);
    expect(again.claim('link-0002', inAMinute())).toBe(false);
    expect(again.claim('link-cut', inAMinute())).toBe(true);
    again.close();
    expect(readFileSync(file, 'utf8')).not.toContain('link-gone');
  });

  it('without a file, remembers in memory only', () => {
    const links = new LocalLinks();
    expect(links.claim('link-0001', inAMinute())).toBe(true);
    expect(links.claim('link-0001', inAMinute())).toBe(false);
    links.close();
  });
});

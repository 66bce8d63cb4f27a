import { describe, expect, it } from 'vitest';
import { expandHome, homeOf } from './home-dir.ts';

// Debian's own /etc/passwd lines, as in the jupyter and node images.
const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'jovyan:x:1000:100::/home/jovyan:/bin/bash',
  '',
].join('\n');

describe('~ in workspace.path', () => {
  it('finds the home folder by name or uid, with or without a group', () => {
    expect(homeOf(PASSWD, undefined)).toBe('/root');
    expect(homeOf(PASSWD, 'jovyan')).toBe('/home/jovyan');
    expect(homeOf(PASSWD, '1000:100')).toBe('/home/jovyan');
    expect(homeOf(PASSWD, 'jovyan:users')).toBe('/home/jovyan');
    expect(homeOf(PASSWD, '4242')).toBeUndefined();
    expect(homeOf('', 'root')).toBeUndefined();
  });

  it('expands ~ and ~/rest, leaves absolute paths alone, and refuses a user without a home', () => {
    expect(expandHome('~/work', '/home/jovyan', 'jovyan')).toBe('/home/jovyan/work');
    expect(expandHome('~', '/home/jovyan/', 'jovyan')).toBe('/home/jovyan');
    expect(expandHome('/srv/ws', undefined, '4242')).toBe('/srv/ws');
    expect(expandHome('~/ws', undefined, undefined)).toBe('/root/ws');
    expect(() => expandHome('~/ws', undefined, '4242')).toThrow(/user 4242 has no home folder/);
  });
});

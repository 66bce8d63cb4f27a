import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../protocol/route.ts';
import { HostMatcher, RouteTable } from './route-table.ts';

describe('HostMatcher', () => {
  const hosts = new HostMatcher('apps.localhost', ['localhost', '127.0.0.1', '[::1]']);
  const id = (host: string) => hosts.routeId(HostMatcher.hostname(host));

  it('finds the route label of <id>.<appsDomain>, ignoring case and port', () => {
    expect(id('r1.apps.localhost')).toBe('r1');
    expect(id('R1.Apps.LOCALHOST:8443')).toBe('r1');
  });

  it('refuses nested labels, other domains and the bare domain', () => {
    for (const host of ['a.r1.apps.localhost', 'r1.apps.localhost.evil', 'apps.localhost', '.apps.localhost', 'r1xapps.localhost', '', '[::1]:8443']) {
      expect(id(host), host).toBeUndefined();
    }
  });

  it('knows the main hosts', () => {
    expect(hosts.isMain(HostMatcher.hostname('LOCALHOST:8443'))).toBe(true);
    expect(hosts.isMain(HostMatcher.hostname('[::1]:8443'))).toBe(true);
    expect(hosts.isMain(HostMatcher.hostname('r1.apps.localhost'))).toBe(false);
    expect(HostMatcher.hostname('[::1')).toBe('');
  });
});

describe('RouteTable', () => {
  it('is a snapshot: building a new table leaves the old one as it was', () => {
    const a = { route: parseRoute({ id: 'a', target: 'http://127.0.0.1:1' }) };
    const b = { route: parseRoute({ id: 'b', target: 'http://127.0.0.1:2' }) };
    const t1 = new RouteTable([a], 1);
    const t2 = new RouteTable([a, b], 2);
    expect(t1.get('b')).toBeUndefined();
    expect(t2.get('b')).toBe(b);
    expect([t1.size, t2.size, t2.version]).toEqual([1, 2, 2]);
  });

  it('finds any of 10,000 routes by id', () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ route: parseRoute({ id: `r${i}`, target: 'http://127.0.0.1:1' }) }));
    const table = new RouteTable(entries);
    expect(table.get('r9999')).toBe(entries[9999]);
    expect(table.get('r10000')).toBeUndefined();
  });
});

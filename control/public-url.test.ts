import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkPublicUrl, LiveAppHosts } from './public-url.ts';

const log = pino({ level: 'silent' });

describe('LiveAppHosts', () => {
  it('accepts only https URLs without credentials', () => {
    expect(checkPublicUrl('https://localhost:9443')).toBe('https://localhost:9443/');
    for (const bad of ['http://localhost:9443/', 'localhost:9443', '', 'https://u:p@x.test/', 42, undefined]) {
      expect(checkPublicUrl(bad)).toBeInstanceOf(Error);
    }
  });

  it('starts at the default, adopts the first gateway\'s report, ignores later and invalid ones', () => {
    const hosts = new LiveAppHosts({ appsDomain: 'apps.localhost', log });
    expect(hosts).toMatchObject({ publicUrl: 'https://localhost:8443/', source: 'default', appsDomain: 'apps.localhost' });
    expect(hosts.report('http://localhost:9443/')).toBe(false);
    expect(hosts.report('not a url')).toBe(false);
    expect(hosts.publicUrl).toBe('https://localhost:8443/');
    expect(hosts.report('https://localhost:9443/')).toBe(true);
    expect(hosts.report('https://other.test/')).toBe(false);
    expect(hosts).toMatchObject({ publicUrl: 'https://localhost:9443/', source: 'gateway' });
  });

  it('lets WHARF_PUBLIC_URL win over gateways and a composer', () => {
    const hosts = new LiveAppHosts({ appsDomain: 'apps.test', publicUrl: 'https://wharf.test/', log });
    expect(hosts.report('https://localhost:9443/')).toBe(false);
    expect(hosts.set('https://localhost:9443/')).toBe(false);
    expect(hosts).toMatchObject({ publicUrl: 'https://wharf.test/', source: 'setting' });
  });

  it('lets a composer set it, before or after a gateway, and then ignores gateways', () => {
    const hosts = new LiveAppHosts({ appsDomain: 'apps.localhost' });
    hosts.report('https://localhost:9443/');
    expect(hosts.set('https://localhost:10443')).toBe(true);
    expect(hosts.report('https://localhost:11443/')).toBe(false);
    expect(hosts).toMatchObject({ publicUrl: 'https://localhost:10443/', source: 'composer' });
    expect(() => hosts.set('http://localhost:1/')).toThrow(/https/);
  });
});

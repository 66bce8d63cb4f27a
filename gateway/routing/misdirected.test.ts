import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../protocol/route.ts';
import { boundToServerName, CertificateNames } from './misdirected.ts';

describe('CertificateNames', () => {
  const names = new CertificateNames('DNS:localhost, DNS:*.apps.localhost, DNS:apps.localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');

  it('covers exact names, one label under a wildcard, and the IP addresses', () => {
    for (const host of ['localhost', 'apps.localhost', 'r1.apps.localhost', '127.0.0.1', '[::1]']) expect(names.covers(host), host).toBe(true);
  });

  it('does not cover other names, deeper labels or other addresses', () => {
    for (const host of ['evil.example', 'a.r1.apps.localhost', 'r1.apps.localhost.evil', '127.0.0.2', '[::2]', '']) expect(names.covers(host), host).toBe(false);
  });

  it('covers nothing without a subjectAltName', () => {
    expect(new CertificateNames(undefined).covers('localhost')).toBe(false);
  });
});

describe('boundToServerName', () => {
  it('is true for TCP routes chosen by SNI, false for HTTP and raw TCP routes', () => {
    expect(boundToServerName(parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://127.0.0.1:1', tls: 'terminate' }))).toBe(true);
    expect(boundToServerName(parseRoute({ id: 'b', kind: 'tcp', target: 'tcp://127.0.0.1:1', tls: 'passthrough' }))).toBe(true);
    expect(boundToServerName(parseRoute({ id: 'c', kind: 'tcp', target: 'tcp://127.0.0.1:1', port: 20001 }))).toBe(false);
    expect(boundToServerName(parseRoute({ id: 'd', target: 'http://127.0.0.1:1' }))).toBe(false);
  });
});

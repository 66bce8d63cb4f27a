import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthority, issueCertificate } from '../certs/authority.ts';
import { readSettings } from '../protocol/settings.ts';
import { startControl, type Control } from './server.ts';
import { controlSettings } from './settings.ts';
import { TEST_SCRYPT_COST } from './store/testing.ts';
import { trustCa } from '../certs/trust.ts';
import { controlNames, controlTls, isLoopback, type ControlTlsSettings } from './tls.ts';

describe("control's TLS", () => {
  const homes: string[] = [];
  let control: Control | undefined;
  afterEach(async () => {
    await control?.close();
    control = undefined;
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-control-tls-'));
    homes.push(dir);
    return dir;
  };
  const settings = (over: Partial<ControlTlsSettings>): ControlTlsSettings => ({
    tls: 'auto', tlsCert: undefined, tlsKey: undefined, listen: { host: '127.0.0.1', port: 0 }, home: home(), ...over,
  });

  it('knows loopback addresses from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '172.17.0.1', 'control.internal', '::ffff:10.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });

  it('auto: plain HTTP on loopback, HTTPS from the local CA beyond it', () => {
    expect(controlTls(settings({ listen: { host: '127.0.0.1', port: 0 } }))).toBeUndefined();
    const s = settings({ listen: { host: '0.0.0.0', port: 7400 } });
    const tls = controlTls(s)!;
    expect(tls.source).toBe('local CA');
    expect(tls.caFile).toBe(join(s.home, 'certs', 'ca.pem'));
    const cert = new X509Certificate(tls.cert);
    expect(cert.verify(new X509Certificate(readFileSync(tls.caFile!, 'utf8')).publicKey)).toBe(true);
    for (const name of ['localhost', hostname()]) expect(cert.checkHost(name)).toBe(name);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // The same certificate at the next start.
    expect(controlTls(s)!.cert).toBe(tls.cert);
  });

  it('issues the certificate again when the listen address is one it does not name', () => {
    const s = settings({ tls: 'on', listen: { host: '127.0.0.1', port: 0 } });
    const first = controlTls(s)!.cert;
    expect(new X509Certificate(first).checkIP('10.1.2.3')).toBeUndefined();
    const again = controlTls({ ...s, listen: { host: '10.1.2.3', port: 7400 } })!.cert;
    expect(again).not.toBe(first);
    expect(new X509Certificate(again).checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(controlNames('[::]')).not.toContain('::');
  });

  it('off: plain HTTP anywhere; files win over the local CA; mistakes name the flags', () => {
    expect(controlTls(settings({ tls: 'off', listen: { host: '0.0.0.0', port: 7400 } }))).toBeUndefined();
    const s = settings({});
    const pair = issueCertificate(createAuthority(), { names: ['control.internal'] });
    writeFileSync(join(s.home, 'c.pem'), pair.cert);
    writeFileSync(join(s.home, 'k.pem'), pair.key);
    const files = { tlsCert: join(s.home, 'c.pem'), tlsKey: join(s.home, 'k.pem') };
    expect(controlTls({ ...s, ...files })).toEqual({ cert: pair.cert, key: pair.key, source: 'files' });
    expect(() => controlTls({ ...s, tlsCert: files.tlsCert })).toThrow(/--tls-cert and --tls-key .* go together/);
    expect(() => controlTls({ ...s, ...files, tls: 'off' })).toThrow(/--tls off contradicts --tls-cert/);
    expect(() => controlTls({ ...s, ...files, tlsKey: join(s.home, 'missing.pem') })).toThrow(/--tls-key: cannot read .*missing\.pem: ENOENT/);
    // Files that are there but are no certificate, or a key of another certificate: named, not a bare OpenSSL line.
    writeFileSync(join(s.home, 'junk.pem'), 'not a certificate\n');
    expect(() => controlTls({ ...s, tlsCert: join(s.home, 'junk.pem'), tlsKey: files.tlsKey })).toThrow(/^--tls-cert .*junk\.pem with --tls-key .*k\.pem: .*no start line; give a PEM certificate/);
    writeFileSync(join(s.home, 'other-key.pem'), issueCertificate(createAuthority(), { names: ['x'] }).key);
    expect(() => controlTls({ ...s, ...files, tlsKey: join(s.home, 'other-key.pem') })).toThrow(/--tls-key .*other-key\.pem: .*key values mismatch/);
  });

  it('serves the API over HTTPS with --tls on, trusted through its local CA', async () => {
    const h = home();
    control = await startControl({ ...readSettings(controlSettings, ['--listen', '127.0.0.1:0', '--tls', 'on'], {}).values, home: h }, pino({ level: 'silent' }), { scryptCost: TEST_SCRYPT_COST });
    expect(control.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(control.tlsCaFile).toBe(join(h, 'certs', 'ca.pem'));
    const dispatcher = new Agent({ connect: { ca: readFileSync(control.tlsCaFile!, 'utf8') } });
    const res = await request(`${control.url}/healthz`, { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ status: 'ok' });
    await dispatcher.close();
    await expect(request(`${control.url}/healthz`)).rejects.toThrow(/unable to verify|self-signed/);
    // What `wharf up` does for its own gateway and agent: this process now trusts the local CA.
    trustCa(readFileSync(control.tlsCaFile!, 'utf8'));
    expect((await fetch(`${control.url}/healthz`)).status).toBe(200);
    expect(() => readSettings(controlSettings, ['--tls', 'yes'], {})).toThrow(/--tls: must be auto .* on or off, got "yes"/);
  });
});

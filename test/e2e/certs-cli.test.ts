import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';

const run = promisify(execFile);
const WHARF = new URL('../../bin/wharf.ts', import.meta.url).pathname;
const wharf = (home: string, ...args: string[]) => run(process.execPath, [WHARF, ...args], { env: { ...process.env, WHARF_HOME: home } });

describe('wharf certs', () => {
  it('init creates a CA and a gateway certificate for localhost and *.apps.localhost, keys 0600, and says how to trust it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-certs-'));
    const { stdout } = await wharf(home, 'certs', 'init', 'wharf.example.org');
    const dir = join(home, 'certs');
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const gw = new X509Certificate(readFileSync(join(dir, 'gateway.pem')));
    expect(ca.ca).toBe(true);
    expect(gw.checkIssued(ca)).toBe(true);
    expect(gw.verify(ca.publicKey)).toBe(true);
    expect(gw.subjectAltName).toContain('DNS:localhost');
    expect(gw.subjectAltName).toContain('DNS:*.apps.localhost');
    expect(gw.subjectAltName).toContain('DNS:wharf.example.org');
    expect(gw.checkHost('r1.apps.localhost')).toBe('*.apps.localhost');
    for (const key of ['ca-key.pem', 'gateway-key.pem']) expect(statSync(join(dir, key)).mode & 0o777).toBe(0o600);
    expect(stdout).toContain(join(dir, 'ca.pem'));
    expect(stdout).toContain('curl --cacert');
  });

  it('issue makes server and client certificates from the same CA', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-certs-'));
    await wharf(home, 'certs', 'init');
    await wharf(home, 'certs', 'issue', 'db.internal', '10.0.0.5');
    await wharf(home, 'certs', 'issue', '--client', 'alice');
    const dir = join(home, 'certs');
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const server = new X509Certificate(readFileSync(join(dir, 'db.internal.pem')));
    const client = new X509Certificate(readFileSync(join(dir, 'client-alice.pem')));
    expect(server.checkIssued(ca) && client.checkIssued(ca)).toBe(true);
    expect(server.checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(client.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    expect(server.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    expect(statSync(join(dir, 'client-alice-key.pem')).mode & 0o777).toBe(0o600);
  });

  it('refuses bad input with one line naming the problem', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-certs-'));
    for (const args of [['certs', 'issue'], ['certs', 'issue', 'bad name!'], ['certs', 'frob'], ['certs', 'init', '--nope']]) {
      const err = await wharf(home, ...args).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(err, args.join(' ')).toBeDefined();
      expect(err!.code).not.toBe(0);
      expect(err!.stderr.trim().split('\n')).toHaveLength(1);
      expect(err!.stderr).toMatch(/^wharf: /);
    }
  });

  it('the gateway serves several given certificates, chosen by SNI', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-certs-'));
    await wharf(home, 'certs', 'init');
    await wharf(home, 'certs', 'issue', 'one.example.test');
    await wharf(home, 'certs', 'issue', '*.two.example.test');
    const dir = join(home, 'certs');
    const gw = await startGateway({
      home,
      args: ['--tls-cert', join(dir, 'one.example.test.pem'), '--tls-key', join(dir, 'one.example.test-key.pem'),
        '--tls-cert', join(dir, 'wildcard.two.example.test.pem'), '--tls-key', join(dir, 'wildcard.two.example.test-key.pem')],
    });
    try {
      // A 404 from the gateway proves the handshake succeeded with a certificate for that name.
      const one = await request(gw.httpsPort, { host: 'one.example.test', ca: gw.ca });
      const two = await request(gw.httpsPort, { host: 'app.two.example.test', ca: gw.ca });
      expect([one.status, two.status]).toEqual([404, 404]);
      await expect(request(gw.httpsPort, { host: 'localhost', ca: gw.ca })).rejects.toThrow(/altnames/);
    } finally {
      await gw.stop();
    }
  });
});

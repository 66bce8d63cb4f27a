import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { runCommand } from '../support/tcp.ts';

/*
 * Issue 14 "TLS as a current profile": a running `wharf gateway` serves Mozilla's
 * "intermediate" profile (TLS 1.3, TLS 1.2 with ECDHE + AEAD suites only, the server's order),
 * as Debian's testssl.sh sees it: protocols, cipher categories, server preferences and
 * vulnerabilities (`-p -s -P -U`), trusting the gateway's local CA (`--add-ca`); certificate
 * checks are left out, the local CA is not the point.
 *
 * The issue asks for no finding of severity MEDIUM or above. Debian's testssl (3.0.8) rates
 * what the gateway offered before (CBC suites, LUCKY13) LOW, and static RSA key exchange
 * not at all, so a MEDIUM threshold would have passed it: this test refuses every finding
 * rated LOW or above (and testssl's own WARN/FATAL, a scan that did not work), and pins the
 * suites offered per protocol and their order.
 *
 * Then plain Node clients check the three places a gateway makes a TLS context: the
 * default (no SNI), the SNI callback's (`localhost`), and a tls:terminate TCP route's.
 */

/** What the gateway's RSA certificate makes of tls-profile.ts, in the server's order. */
const TLS12 = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];
const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
/** testssl's severities that are not findings against the server. */
const NOT_FINDINGS = new Set(['OK', 'INFO', 'DEBUG']);
/**
 * testssl's notes about the machine it runs on, not about the server: the local openssl
 * lacks GOST engine support (Debian's does, on some machines testssl says so as a WARN).
 */
const ABOUT_THE_SCANNER = new Set(['engine_problem']);

interface Finding { id: string; severity: string; finding: string }

describe('the gateway serves a current TLS profile', () => {
  let gw: GatewayProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-tls-profile-'));
    // The upstream is never reached: only handshakes are looked at.
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'db', kind: 'tcp', target: 'tcp://127.0.0.1:9', tls: 'terminate' }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (gw) rmSync(gw.home, { recursive: true, force: true });
  });

  it('passes testssl: only TLS 1.2 and 1.3, ECDHE + AEAD suites in the server\'s order, no vulnerability, nothing rated LOW or above', async () => {
    const json = join(dir, 'testssl.json');
    const t0 = Date.now();
    // --ip: no name lookup (the URI's name is still the SNI); --nodns none: nothing else is
    // looked up either (offline); --warnings off: no prompt; no --fast, which would show only
    // the first preferred suite per protocol.
    const run = await runCommand('testssl', [
      '-p', '-s', '-P', '-U', '--add-ca', join(gw.home, 'certs', 'ca.pem'), '--jsonfile', json,
      '--warnings', 'off', '--quiet', '--color', '0', '--ip', '127.0.0.1', '--nodns', 'none', '--connect-timeout', '10', '--openssl-timeout', '10',
      `localhost:${gw.httpsPort}`,
    ], process.env, undefined, 170_000);
    const seconds = Math.round((Date.now() - t0) / 1000);
    console.log(`testssl -p -s -P -U against the gateway: ${seconds} s`);
    const findings = JSON.parse(readFileSync(json, 'utf8')) as Finding[];
    const report = (list: Finding[]) => list.map((f) => `${f.severity} ${f.id}: ${f.finding}`).join('\n');
    const by = new Map(findings.map((f) => [f.id, f]));
    expect(by.get('scanTime'), `testssl did not finish (exit ${run.code}):\n${run.stdout.slice(-3000)}${run.stderr}`).toBeDefined();

    const flagged = findings.filter((f) => !NOT_FINDINGS.has(f.severity) && !ABOUT_THE_SCANNER.has(f.id));
    expect(flagged, `testssl findings rated LOW or above (or scan problems):\n${report(flagged)}`).toEqual([]);

    for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) expect(by.get(id)?.finding, id).toBe('not offered');
    expect(by.get('TLS1_2')?.finding).toBe('offered');
    expect(by.get('TLS1_3')?.finding).toMatch(/^offered/);
    expect(by.get('cipher_order')?.finding).toBe('server');
    expect(by.get('cipherorder_TLSv1_2')?.finding.trim().split(/\s+/)).toEqual(TLS12);
    expect(by.get('cipherorder_TLSv1_3')?.finding.trim().split(/\s+/)).toEqual(TLS13);
    for (const id of ['cipherlist_AVERAGE', 'cipherlist_3DES_IDEA', 'cipherlist_LOW', 'cipherlist_EXPORT', 'cipherlist_NULL', 'cipherlist_aNULL']) expect(by.get(id)?.finding, id).toBe('not offered');
    for (const id of ['heartbleed', 'CCS', 'ROBOT', 'secure_client_renego', 'SWEET32', 'FREAK', 'LOGJAM', 'BEAST', 'LUCKY13', 'RC4']) expect(by.get(id)?.severity, `${id}: ${by.get(id)?.finding}`).toBe('OK');
  }, 180_000);

  /** A TLS 1.2 (or 1.3) handshake: the suite negotiated, or the error that ended it. */
  const handshake = (options: tls.ConnectionOptions) => new Promise<{ cipher?: string; version?: string; error?: string }>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: gw.ca, ...options }, () => {
      resolve({ cipher: socket.getCipher().name, version: socket.getProtocol() ?? undefined });
      socket.destroy();
    });
    socket.once('error', (err) => resolve({ error: (err as Error & { code?: string }).code ?? err.message }));
  });

  it('refuses static-RSA and CBC suites on TLS 1.2 for every context (no SNI, SNI, a tls:terminate route) and prefers its own order', async () => {
    const contexts: [string, tls.ConnectionOptions][] = [
      ['no SNI', { servername: '' }],
      ['SNI localhost', { servername: 'localhost' }],
      ['tls:terminate route', { servername: 'db.apps.localhost' }],
    ];
    for (const [what, sni] of contexts) {
      for (const weak of ['AES256-GCM-SHA384', 'AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ARIA128-GCM-SHA256', 'AES128-CCM']) {
        const r = await handshake({ ...sni, ciphers: weak, maxVersion: 'TLSv1.2' });
        // The server's refusal (a handshake_failure alert), not a client that cannot offer it.
        expect(r, `${what}: ${weak}`).toEqual({ error: expect.stringMatching(/ALERT_HANDSHAKE_FAILURE/) });
      }
      // A client that prefers ChaCha20 still gets the server's first choice.
      expect(await handshake({ ...sni, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }), what)
        .toEqual({ cipher: 'ECDHE-RSA-AES128-GCM-SHA256', version: 'TLSv1.2' });
      expect((await handshake({ ...sni })).version, what).toBe('TLSv1.3');
    }
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { drain, echo, fingerprint256, metric, randomPortBase, runWharf, startTcpUpstream, writeRoutes, type TcpUpstream } from '../support/tcp.ts';

// Issue "Raw TCP apps through the gateway", TLS-wrapped TCP on the HTTPS port: a ClientHello
// whose SNI is `<route>.apps.localhost` for a tcp route with tls terminate (TLS ends at the
// gateway, plain bytes upstream; clientCert: true requires a certificate from Wharf's CA) or
// passthrough (the TLS bytes go through untouched: the client sees the upstream's own
// certificate). Every other connection goes to the HTTPS router as before.

interface TlsAttempt {
  /** The client finished its side of the handshake. */
  connected: boolean;
  /** Bytes that came back before the connection closed. */
  data: Buffer;
  error?: Error;
}

describe('TLS TCP routes by SNI on the HTTPS port', () => {
  const base = randomPortBase();
  let gw: GatewayProcess;
  let web: Upstream;
  let dbUp: TcpUpstream;
  let mtlsUp: TcpUpstream;
  let rawUp: TcpUpstream;
  let ptServer: tls.Server;
  let ptPort = 0;
  const ptSeen: { servername: string | false | null | undefined }[] = [];
  let otherHome: string;
  let other: { cert: string; key: string; ca: string };
  let gatewayFingerprint: string;
  const sockets: tls.TLSSocket[] = [];

  const connect = (servername: string, o: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername, ca: gw.ca, ...o }, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });

  /** Connects, sends `payload` once the client's handshake is done, and collects what comes back until the connection closes (3 s at most). */
  const attempt = (servername: string, payload: string, o: tls.ConnectionOptions = {}): Promise<TlsAttempt> => new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let connected = false;
    let error: Error | undefined;
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername, ca: gw.ca, ...o }, () => {
      connected = true;
      s.write(payload);
    });
    sockets.push(s);
    const done = () => {
      clearTimeout(t);
      resolve({ connected, data: Buffer.concat(chunks), error });
    };
    const t = setTimeout(() => {
      s.destroy();
      done();
    }, 3_000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (err) => (error = err));
    s.once('close', done);
  });

  beforeAll(async () => {
    web = await startUpstream();
    dbUp = await startTcpUpstream();
    mtlsUp = await startTcpUpstream();
    rawUp = await startTcpUpstream();
    // The passthrough upstream has its own certificate, from a CA that is not the gateway's.
    otherHome = mkdtempSync(join(tmpdir(), 'wharf-other-ca-'));
    const issued = await runWharf(['certs', 'issue', 'pt.apps.localhost', '--out', 'other'], { ...process.env, WHARF_HOME: otherHome });
    expect(issued.code, issued.stderr).toBe(0);
    other = {
      cert: readFileSync(join(otherHome, 'certs', 'other.pem'), 'utf8'),
      key: readFileSync(join(otherHome, 'certs', 'other-key.pem'), 'utf8'),
      ca: readFileSync(join(otherHome, 'certs', 'ca.pem'), 'utf8'),
    };
    ptServer = tls.createServer({ cert: other.cert, key: other.key }, (s) => {
      ptSeen.push({ servername: s.servername });
      s.on('error', () => s.destroy());
      s.pipe(s);
    });
    await new Promise<void>((r) => ptServer.listen(0, '127.0.0.1', r));
    ptPort = (ptServer.address() as AddressInfo).port;

    const file = join(mkdtempSync(join(tmpdir(), 'wharf-tcp-sni-')), 'routes.json');
    writeRoutes(file, [
      { id: 'db', kind: 'tcp', target: dbUp.target, tls: 'terminate' },
      { id: 'web', target: web.url, public: true },
      { id: 'pt', kind: 'tcp', target: `tcp://127.0.0.1:${ptPort}`, tls: 'passthrough' },
      { id: 'mtls', kind: 'tcp', target: mtlsUp.target, tls: 'terminate', clientCert: true },
      { id: 'raw', kind: 'tcp', target: rawUp.target, tls: 'none' },
    ]);
    gw = await startGateway({ args: ['--routes', file, '--tcp-ports', `${base}-${base + 9}`] });
    gatewayFingerprint = fingerprint256(readFileSync(join(gw.home, 'certs', 'gateway.pem'), 'utf8'));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await gw?.stop();
    await Promise.all([web, dbUp, mtlsUp, rawUp].map((u) => u?.close()));
    ptServer?.close();
  });

  it('terminates TLS for a tls:terminate route at the gateway and carries plain bytes upstream', async () => {
    const s = await connect('db.apps.localhost');
    expect(s.authorized).toBe(true);
    expect(s.getPeerCertificate().fingerprint256).toBe(gatewayFingerprint);
    expect((await echo(s, 'PING db\r\n')).toString()).toBe('PING db\r\n');
    const big = randomBytes(1 << 20);
    expect((await echo(s, big)).equals(big)).toBe(true);
    // The upstream got plain bytes: exactly what the client wrote, no TLS records.
    expect(dbUp.received).toBe(9 + (1 << 20));
    expect(dbUp.connections).toBe(1);
    s.end();
    await drain(s);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'db' })).toBe(1);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'db', direction: 'in' })).toBe(9 + (1 << 20));
  });

  it('still serves HTTPS routes on the same port, while a TLS TCP connection is open', async () => {
    const s = await connect('db.apps.localhost');
    expect((await echo(s, 'open')).toString()).toBe('open');
    const reply = await request(gw.httpsPort, { host: 'web.apps.localhost', ca: gw.ca, path: '/hello' });
    expect(reply.status, reply.body).toBe(200);
    expect(reply.headers['x-upstream']).toBe('yes');
    expect(JSON.parse(reply.body).url).toBe('/hello');
    // An unknown name goes to the HTTPS router too: its 404, not a dropped connection.
    const unknown = await request(gw.httpsPort, { host: 'nope.apps.localhost', ca: gw.ca, headers: { accept: 'application/json' } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
    // The TCP connection carried on meanwhile.
    expect((await echo(s, 'still open')).toString()).toBe('still open');
    s.end();
  });

  it('does not route a tls:none route by SNI: that name on the HTTPS port is the HTTPS router\'s', async () => {
    const reply = await request(gw.httpsPort, { host: 'raw.apps.localhost', ca: gw.ca, headers: { accept: 'application/json' } });
    expect(reply.status).toBe(404);
    expect(rawUp.connections).toBe(0);
  });

  it('passes TLS through untouched for a tls:passthrough route: the client sees the upstream\'s own certificate', async () => {
    const s = await connect('pt.apps.localhost', { ca: other.ca });
    expect(s.authorized).toBe(true);
    const fp = s.getPeerCertificate().fingerprint256;
    expect(fp).toBe(fingerprint256(other.cert));
    expect(fp).not.toBe(gatewayFingerprint);
    expect((await echo(s, 'through the tunnel of TLS')).toString()).toBe('through the tunnel of TLS');
    // The upstream saw the client's own ClientHello, SNI included.
    expect(ptSeen.at(-1)!.servername).toBe('pt.apps.localhost');
    s.end();
    await drain(s);
    // Trusting only the gateway's CA, the passthrough route's certificate is not accepted.
    await expect(connect('pt.apps.localhost')).rejects.toThrow();
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'pt' })).toBeGreaterThanOrEqual(1);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'pt', direction: 'in' })).toBeGreaterThan(25);
  });

  it('refuses a clientCert route without a client certificate: no byte reaches the upstream', async () => {
    const result = await attempt('mtls.apps.localhost', 'no cert');
    expect(result.data.length).toBe(0);
    await sleep(100);
    expect(mtlsUp.connections).toBe(0);
    expect(mtlsUp.received).toBe(0);
  });

  it('refuses a clientCert route with a client certificate from another CA', async () => {
    const issued = await runWharf(['certs', 'issue', '--client', 'mallory'], { ...process.env, WHARF_HOME: otherHome });
    expect(issued.code, issued.stderr).toBe(0);
    const result = await attempt('mtls.apps.localhost', 'foreign cert', {
      cert: readFileSync(join(otherHome, 'certs', 'client-mallory.pem'), 'utf8'),
      key: readFileSync(join(otherHome, 'certs', 'client-mallory-key.pem'), 'utf8'),
    });
    expect(result.data.length).toBe(0);
    await sleep(100);
    expect(mtlsUp.connections).toBe(0);
  });

  it('accepts a clientCert route with a client certificate from `wharf certs issue --client`', async () => {
    const issued = await runWharf(['certs', 'issue', '--client', 'alice'], { ...process.env, WHARF_HOME: gw.home });
    expect(issued.code, issued.stderr).toBe(0);
    const before = mtlsUp.connections;
    const s = await connect('mtls.apps.localhost', {
      cert: readFileSync(join(gw.home, 'certs', 'client-alice.pem'), 'utf8'),
      key: readFileSync(join(gw.home, 'certs', 'client-alice-key.pem'), 'utf8'),
    });
    expect(s.getPeerCertificate().fingerprint256).toBe(gatewayFingerprint);
    expect((await echo(s, 'with alice\'s certificate')).toString()).toBe('with alice\'s certificate');
    expect(mtlsUp.connections).toBe(before + 1);
    s.end();
    await drain(s);
  });
});

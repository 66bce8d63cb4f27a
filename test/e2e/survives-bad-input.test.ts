import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/** Sends raw bytes on a fresh TLS connection and returns whatever comes back before close. */
function rawTls(port: number, payload: Buffer | string, servername = 'r1.apps.localhost'): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => socket.end(payload));
    let out = '';
    socket.on('data', (c) => (out += c.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    socket.setTimeout(3_000, () => socket.destroy());
  });
}

/** Sends raw bytes on plain TCP to the TLS port (not a TLS handshake at all). */
function rawTcp(port: number, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.setTimeout(3_000, () => socket.destroy());
  });
}

describe('the gateway under bad input', () => {
  let gw: GatewayProcess;
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-bad-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: upstream.url, public: true }, { id: 'p1', target: upstream.url }] }));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
  });

  it('answers malformed requests without a stack trace and keeps serving', async () => {
    const heads = [
      'GET / HTTP/1.1\r\n\r\n', // no Host
      'GET / HTTP/1.1\r\nHost: r1.apps.localhost\r\nHost: r2.apps.localhost\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: \r\n\r\n',
      'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n',
      'GET http://evil.example/ HTTP/1.1\r\nHost: r1.apps.localhost\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: r1.apps.localhost\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: r1.apps.localhost\r\n\r\n',
      'G\x00T / HTTP/1.1\r\nHost: r1.apps.localhost\r\n\r\n',
      'GET /\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: p1.apps.localhost\r\nAuthorization: Bearer a.b.c\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: p1.apps.localhost\r\nAuthorization: Bearer \xff\xfe.\x01\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: p1.apps.localhost\r\nCookie: __Host-wharf_session=v1.\xff.\xff\r\n\r\n',
      'GET /?wharf_token=%E0%A4%A HTTP/1.1\r\nHost: p1.apps.localhost\r\n\r\n',
      'GET /?wharf_token=&wharf_token=x HTTP/1.1\r\nHost: r1.apps.localhost\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r1.apps.localhost\r\nContent-Length: -1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r1.apps.localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET / HTTP/1.1\r\nHost: r1.apps.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', // no key
    ];
    for (const head of heads) {
      const answer = await rawTls(gw.httpsPort, Buffer.from(head, 'latin1'));
      expect(answer, JSON.stringify(head)).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(answer, JSON.stringify(head)).not.toContain('node:internal');
    }
    for (let i = 0; i < 20; i++) {
      await rawTls(gw.httpsPort, randomBytes(64 + i * 50));
      await rawTcp(gw.httpsPort, randomBytes(64 + i * 50));
    }
    const seenBefore = upstream.seen.length;
    const absolute = await rawTls(gw.httpsPort, 'GET http://evil.example/ HTTP/1.1\r\nHost: r1.apps.localhost\r\nConnection: close\r\n\r\n');
    expect(absolute).toMatch(/^HTTP\/1.1 400/);
    expect(upstream.seen.length).toBe(seenBefore);
    const reply = await request(gw.httpsPort, { host: 'r1.apps.localhost', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(gw.child.exitCode).toBeNull();
  });

  it('logs no stack trace for client mistakes', () => {
    expect(gw.output()).not.toMatch(/"stack"/);
  });
});

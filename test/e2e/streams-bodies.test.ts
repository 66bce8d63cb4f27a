import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'r1.apps.localhost';
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

// Bodies pass through as streams, both ways, intact.
describe('request and response bodies', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  let early: http.Server;
  const big = randomBytes(5 * 1024 * 1024);
  let releaseSecondChunk: (() => void) | undefined;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      if (req.url === '/digest') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ length: Buffer.byteLength(body), sha256: sha256(body), te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null }));
        return true;
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
        res.end(big);
        return true;
      }
      if (req.url === '/trickle') {
        // The first chunk goes out, the rest only once the client has seen it: a proxy that
        // buffered the response would never deliver it.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        releaseSecondChunk = () => res.end('second');
        return true;
      }
      return false;
    });
    // An app that answers as soon as the first body bytes arrive, and finishes when the body does.
    early = http.createServer((req, res) => {
      let n = 0;
      req.once('data', () => res.writeHead(200, { 'content-type': 'text/plain' }).write('started;'));
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`got ${n}`));
    });
    await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
    const earlyUrl = `http://127.0.0.1:${(early.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'wharf-bodies-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: up.url, public: true }, { id: 'r2', target: earlyUrl, public: true }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    early?.closeAllConnections();
    await new Promise((r) => early?.close(r));
  });

  it('delivers a 5 MB POST body intact, with its Content-Length', async () => {
    const body = big.toString('hex').slice(0, 5 * 1024 * 1024); // text, so the upstream's string body is exact
    const reply = await request(gw.httpsPort, { host: HOST, method: 'POST', path: '/digest', body, ca: gw.ca });
    expect(reply.status).toBe(200);
    const got = JSON.parse(reply.body);
    expect(got.length).toBe(body.length);
    expect(got.sha256).toBe(sha256(body));
    expect(got.cl).toBe(String(body.length));
  });

  it('delivers a chunked POST body of unknown length intact', async () => {
    const parts = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(64 * 1024, String.fromCharCode(97 + (i % 26))));
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: gw.httpsPort, method: 'POST', path: '/digest', servername: HOST, ca: gw.ca, agent: false,
        headers: { host: HOST, 'transfer-encoding': 'chunked' },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: data }));
      });
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i === parts.length) return req.end();
        req.write(parts[i++]);
        setImmediate(next);
      };
      next();
    });
    expect(reply.status).toBe(200);
    const got = JSON.parse(reply.body);
    const whole = parts.join('');
    expect(got.length).toBe(whole.length);
    expect(got.sha256).toBe(sha256(whole));
  });

  it('delivers a 5 MB response body intact', async () => {
    const got = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: gw.httpsPort, path: '/big', servername: HOST, ca: gw.ca, agent: false, headers: { host: HOST } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      }).on('error', reject);
    });
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(big.length));
    expect(got.body.length).toBe(big.length);
    expect(sha256(got.body)).toBe(sha256(big));
  });

  it('streams the response: the client sees the first chunk before the app has finished', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: gw.httpsPort, path: '/trickle', servername: HOST, ca: gw.ca, agent: false, headers: { host: HOST } }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
          if (data === 'first;') releaseSecondChunk!();
        });
        res.on('end', () => resolve(data));
        res.on('error', reject);
      }).on('error', reject);
    });
    expect(text).toBe('first;second');
  }, 10_000);

  it('streams the request: the app sees the first body bytes before the client has sent the rest', async () => {
    // The client sends the rest only after the app has answered the first part.
    const text = await new Promise<string>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: gw.httpsPort, method: 'POST', path: '/upload', servername: 'r2.apps.localhost', ca: gw.ca, agent: false,
        headers: { host: 'r2.apps.localhost', 'content-length': '200000' },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
          if (data === 'started;') req.end(Buffer.alloc(100_000, 'b'));
        });
        res.on('end', () => resolve(data));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(100_000, 'a'));
    });
    expect(text).toBe('started;got 200000');
  }, 10_000);
});

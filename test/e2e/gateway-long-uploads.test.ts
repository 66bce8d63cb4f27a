import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'up.apps.localhost';
const DIGEST = 'digest.apps.localhost';
const IDLE_MS = 1_500;
const MIB = 1024 * 1024;
const TOTAL = 200 * MIB;
const CHUNK = MIB;
const PACE_MS = 40; // 200 MiB in 200 chunks: about 8 s (25 MiB/s each), with no pause near IDLE_MS

/** The body, one chunk every PACE_MS (26 distinct chunks, reused), and the sha256 of all of it. */
function pacedChunks(): { chunks: Buffer[]; sha256: string } {
  const distinct = Array.from({ length: 26 }, (_, i) => Buffer.alloc(CHUNK, 97 + i));
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    chunks.push(distinct[i % 26]);
    hash.update(distinct[i % 26]);
  }
  return { chunks, sha256: hash.digest('hex') };
}

async function writePaced(write: (c: Buffer) => void, end: () => void, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) {
    write(c);
    await sleep(PACE_MS);
  }
  end();
}

// Long uploads and downloads are never cut by a whole-request timer (--request-timeout-ms is 0
// by default); a request body that stalls for --client-idle-timeout-ms is (HTTP/1.1: the
// connection, HTTP/2: the stream).
describe('long uploads and stalled bodies', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  let digests: http.Server;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/slow-download') {
        // Five pieces a second apart: longer in all than the idle timeout.
        res.writeHead(200, { 'content-type': 'text/plain' });
        let n = 0;
        const t = setInterval(() => {
          res.write(`piece ${n};`);
          if (++n === 5) {
            clearInterval(t);
            res.end();
          }
        }, 1_000);
        return true;
      }
      return false;
    });
    // Bodies of 200 MiB are hashed as they stream, never held (the test upstream keeps bodies).
    digests = http.createServer((req, res) => {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ length, sha256: hash.digest('hex') }));
      });
    });
    await new Promise<void>((resolve) => digests.listen(0, '127.0.0.1', resolve));
    const digestsUrl = `http://127.0.0.1:${(digests.address() as AddressInfo).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'wharf-uploads-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'up', target: up.url, public: true }, { id: 'digest', target: digestsUrl, public: true }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--client-idle-timeout-ms', String(IDLE_MS), '--workers', '1'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    digests?.close();
  });

  function h1Upload(chunks: Buffer[], headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: gw.httpsPort, method: 'POST', path: '/digest', servername: DIGEST, ca: gw.ca, agent: false, headers: { host: DIGEST, ...headers } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      void writePaced((c) => req.write(c), () => req.end(), chunks);
    });
  }

  function h2Upload(chunks: Buffer[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const client = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { ca: gw.ca, servername: DIGEST });
      client.on('error', reject);
      const req = client.request({ ':method': 'POST', ':authority': DIGEST, ':path': '/digest' });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        client.close();
        resolve({ status, body });
      });
      req.on('error', reject);
      void writePaced((c) => req.write(c), () => req.end(), chunks);
    });
  }

  it('completes a 200 MiB upload paced over about 8 s, over HTTP/1.1 and HTTP/2 at once, and a slow download', async () => {
    const { chunks, sha256 } = pacedChunks();
    const started = performance.now();
    const [h1, h1Chunked, h2, download] = await Promise.all([
      h1Upload(chunks, { 'content-length': String(TOTAL) }),
      h1Upload(chunks, {}),
      h2Upload(chunks),
      new Promise<string>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: gw.httpsPort, path: '/slow-download', servername: HOST, ca: gw.ca, agent: false, headers: { host: HOST } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      }),
    ]);
    expect(performance.now() - started).toBeGreaterThan(7_000);
    for (const r of [h1, h1Chunked, h2]) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ length: TOTAL, sha256 });
    }
    expect(download).toBe('piece 0;piece 1;piece 2;piece 3;piece 4;');
  }, 40_000);

  it('closes an HTTP/1.1 connection whose body stalls', async () => {
    const started = performance.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = https.request({ host: '127.0.0.1', port: gw.httpsPort, method: 'POST', path: '/digest', servername: HOST, ca: gw.ca, agent: false, headers: { host: HOST, 'content-length': '1000000' } }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (err: Error & { code?: string }) => resolve(`closed ${err.code}`));
      req.write(Buffer.alloc(100_000));
    });
    const took = performance.now() - started;
    expect(outcome).toMatch(/^closed/);
    expect(took).toBeGreaterThan(IDLE_MS - 200);
    expect(took).toBeLessThan(IDLE_MS + 3_000);
  });

  it('cancels an HTTP/2 stream whose body stalls, and keeps the connection', async () => {
    const client = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { ca: gw.ca, servername: HOST });
    try {
      const started = performance.now();
      const stalled = client.request({ ':method': 'POST', ':authority': HOST, ':path': '/digest' });
      stalled.on('error', () => {});
      stalled.write(Buffer.alloc(100_000));
      const code = await new Promise<number>((resolve) => stalled.on('close', () => resolve(stalled.rstCode)));
      const took = performance.now() - started;
      expect(code).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(took).toBeGreaterThan(IDLE_MS - 200);
      expect(took).toBeLessThan(IDLE_MS + 3_000);
      // The connection's other streams are unaffected.
      const ok = client.request({ ':authority': HOST, ':path': '/after' });
      const status = await new Promise<number>((resolve, reject) => {
        ok.on('response', (h) => resolve(Number(h[':status'])));
        ok.on('error', reject);
      });
      expect(status).toBe(200);
    } finally {
      client.close();
    }
  });
});

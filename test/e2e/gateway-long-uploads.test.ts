import { mkdtempSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { CHUNK, expectedSha256, startDigestApp, uploadPaced } from '../support/paced-body.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'up.apps.localhost';
const DIGEST = 'digest.apps.localhost';
const IDLE_MS = 1_500;
const MIB = 1024 * 1024;
const CHUNKS = (200 * MIB) / CHUNK; // 200 MiB
const TOTAL = CHUNKS * CHUNK;
const RATE = 25 * MIB; // about 8 s, with no pause near IDLE_MS

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
    digests = await startDigestApp(0, RATE);
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

  const upload = (http2: boolean, headers: Record<string, string> = {}) =>
    uploadPaced({ port: gw.httpsPort, host: DIGEST, ca: gw.ca, http2, chunks: CHUNKS, rate: RATE, headers });

  it('completes a 200 MiB upload paced over about 8 s, over HTTP/1.1 and HTTP/2 at once, and a slow download', async () => {
    const sha256 = expectedSha256(CHUNKS);
    const started = performance.now();
    const [h1, h1Chunked, h2, download] = await Promise.all([
      upload(false, { 'content-length': String(TOTAL) }),
      upload(false),
      upload(true),
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

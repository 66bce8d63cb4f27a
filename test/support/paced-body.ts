import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Long bodies sent at a fixed pace, for the long-upload tests and `npm run bench:long`: chunk
 * `i` is one of 26 distinct 64 KiB chunks in turn, so both ends can make and hash any length
 * without holding it.
 */

export const CHUNK = 64 * 1024;
const distinct = Array.from({ length: 26 }, (_, i) => Buffer.alloc(CHUNK, 97 + i));

export const chunk = (i: number): Buffer => distinct[i % 26];

/** The sha256 of the first `chunks` chunks. */
export function expectedSha256(chunks: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < chunks; i++) hash.update(chunk(i));
  return hash.digest('hex');
}

/** Writes `chunks` chunks into `out` at `rate` bytes/s (never faster than it drains), then ends it. */
export async function writePaced(out: Writable, chunks: number, rate: number): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < chunks; i++) {
    const wait = started + (i * CHUNK * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    if (out.destroyed) throw new Error('the stream was closed while sending');
    if (!out.write(chunk(i))) await new Promise((resolve) => out.once('drain', resolve));
  }
  out.end();
}

/**
 * An app on 127.0.0.1:0 that answers a POST with the `{length, sha256}` of its body, hashed as
 * it streams, and a GET with `chunks` chunks paced at `rate` bytes/s.
 */
export async function startDigestApp(chunks: number, rate: number): Promise<http.Server> {
  // Node's own default cuts a request after 300 s (a bare 408): this app, like the gateway,
  // takes as long as a client keeps sending.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    if (req.method === 'POST') {
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
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunks * CHUNK) });
    writePaced(res, chunks, rate).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export interface PacedUpload {
  /** The gateway's HTTPS port on 127.0.0.1, the app host (Host, SNI) and the CA to trust. */
  port: number;
  host: string;
  ca: string;
  http2: boolean;
  chunks: number;
  rate: number;
  /** HTTP/1.1 only: e.g. a content-length (without one the body is chunked). */
  headers?: Record<string, string>;
}

/** POSTs a paced body to `/digest` on the app host; the answer's status and body. */
export function uploadPaced(o: PacedUpload): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = '';
    if (!o.http2) {
      const req = https.request({ host: '127.0.0.1', port: o.port, method: 'POST', path: '/digest', servername: o.host, ca: o.ca, agent: false, headers: { host: o.host, ...o.headers } }, (res) => {
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      writePaced(req, o.chunks, o.rate).catch(reject);
      return;
    }
    const client = http2.connect(`https://127.0.0.1:${o.port}`, { ca: o.ca, servername: o.host });
    client.on('error', reject);
    const req = client.request({ ':method': 'POST', ':authority': o.host, ':path': '/digest' });
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      client.close();
      resolve({ status, body });
    });
    req.on('error', reject);
    writePaced(req, o.chunks, o.rate).catch(reject);
  });
}

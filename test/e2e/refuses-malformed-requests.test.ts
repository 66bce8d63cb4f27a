import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'r1.apps.localhost';

interface RawResult {
  /** Everything the gateway sent back, as latin1 text. */
  text: string;
  /** The status of the first response, or 0 if none came. */
  status: number;
  /** Whether the gateway closed the connection before `waitMs`. */
  closed: boolean;
  /** Time from the first byte written to the close (or to giving up). */
  ms: number;
}

/**
 * Writes raw bytes over TLS to the gateway and reads until the gateway closes the connection
 * or `waitMs` passes. `parts` are written with `gapMs` between them.
 */
function raw(gw: GatewayProcess, parts: string | string[], waitMs = 3_000, gapMs = 0): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: HOST, ca: gw.ca });
    let text = '';
    let started = 0;
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs + 5_000);
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish(true);
      else reject(err);
    });
    socket.once('secureConnect', async () => {
      started = Date.now();
      clearTimeout(timer);
      setTimeout(() => finish(false), waitMs);
      for (const [i, part] of [parts].flat().entries()) {
        if (i > 0 && gapMs) await new Promise((r) => setTimeout(r, gapMs));
        if (settled) return;
        socket.write(part);
      }
    });
  });
}

function header(text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n')[0];
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(line.indexOf(':') + 1).trim();
}

// Requests that a strict parser refuses before anything reaches the app.
describe('malformed and abusive requests', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-malformed-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: up.url, public: true }] }));
    gw = await startGateway({
      args: ['--routes', join(dir, 'routes.json'), '--max-headers', '30', '--headers-timeout-ms', '1000', '--request-timeout-ms', '2000'],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  /** Asserts that a raw request is answered 400 GW_BAD_REQUEST and that the app never sees it. */
  async function refused(bytes: string, status = 400, code = 'GW_BAD_REQUEST'): Promise<RawResult> {
    const before = up.seen.length;
    const r = await raw(gw, bytes, 1_500);
    expect(r.status, r.text.slice(0, 200)).toBe(status);
    expect(header(r.text, 'x-wharf-error')).toBe(code);
    expect(r.text).not.toMatch(/\bat .+:\d+:\d+|node:internal/);
    // Give a request that slipped through time to arrive before concluding it did not.
    await new Promise((res) => setTimeout(res, 100));
    expect(up.seen.length).toBe(before);
    return r;
  }

  it('serves a well-formed raw request (the baseline for the cases below)', async () => {
    const before = up.seen.length;
    const r = await raw(gw, `GET /ok HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(200);
    expect(up.seen.length).toBe(before + 1);
  });

  it('refuses a 20 KB header with 431 GW_HEADERS_TOO_LARGE', async () => {
    const before = up.seen.length;
    const reply = await request(gw.httpsPort, { host: HOST, ca: gw.ca, headers: { 'x-big': 'a'.repeat(20 * 1024), accept: 'application/json' } });
    expect(reply.status).toBe(431);
    expect(reply.headers['x-wharf-error']).toBe('GW_HEADERS_TOO_LARGE');
    expect(up.seen.length).toBe(before);
  });

  it('refuses more header fields than --max-headers with 431', async () => {
    const before = up.seen.length;
    const headers: Record<string, string> = { accept: 'application/json' };
    for (let i = 0; i < 40; i++) headers[`x-h${i}`] = String(i);
    const reply = await request(gw.httpsPort, { host: HOST, ca: gw.ca, headers });
    expect(reply.status).toBe(431);
    expect(reply.headers['x-wharf-error']).toBe('GW_HEADERS_TOO_LARGE');
    expect(up.seen.length).toBe(before);
    // Just under the limit is fine.
    const fine: Record<string, string> = {};
    for (let i = 0; i < 20; i++) fine[`x-h${i}`] = String(i);
    expect((await request(gw.httpsPort, { host: HOST, ca: gw.ca, headers: fine })).status).toBe(200);
  });

  it('refuses Content-Length together with Transfer-Encoding (request smuggling)', async () => {
    await refused(
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    );
    expect(up.seen.map((s) => s.url)).not.toContain('/smuggled');
  });

  it('refuses two different Content-Length values', async () => {
    await refused(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`);
  });

  it('refuses a Transfer-Encoding that does not end in chunked', async () => {
    await refused(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  });

  it('refuses an obs-fold (a header continued on the next line)', async () => {
    await refused(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Folded: first\r\n  second\r\n\r\n`);
  });

  it('refuses invalid characters in a header value and in a header name', async () => {
    await refused(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Bad: a\x01b\r\n\r\n`);
    await refused(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Name: x\r\n\r\n`);
    await refused(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Bare-LF: a\nInjected: b\r\n\r\n`);
  });

  it('refuses a request without Host', async () => {
    await refused('GET / HTTP/1.1\r\n\r\n');
  });

  it('refuses a bad chunk size', async () => {
    await refused(`POST /chunks HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`);
  });

  it('refuses a bad chunk size that follows a good chunk', async () => {
    await refused(`POST /chunks HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n`);
  });

  it('refuses a non-WebSocket upgrade (h2c) without passing it on', async () => {
    const before = up.seen.length;
    const r = await raw(gw,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`, 1_500);
    expect(r.status).toBe(400);
    expect(header(r.text, 'x-wharf-error')).toBe('GW_UPGRADE_UNSUPPORTED');
    await new Promise((res) => setTimeout(res, 100));
    expect(up.seen.length).toBe(before);
  });

  it('answers 408 or closes the connection when the request head is too slow (slowloris)', async () => {
    const before = up.seen.length;
    // Part of a head, then silence: --headers-timeout-ms is 1000.
    const r = await raw(gw, `GET /slow HTTP/1.1\r\nHost: ${HOST}\r\nX-Trickle: 1\r\n`, 6_000);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(4_000);
    if (r.status) {
      expect(r.status).toBe(408);
      expect(header(r.text, 'x-wharf-error')).toBe('GW_REQUEST_TIMEOUT');
    }
    expect(up.seen.length).toBe(before);
  }, 15_000);

  it('does not let a client trickling header lines hold the connection past the timeout', async () => {
    // One header line every 300 ms: each keeps the socket busy, none completes the head.
    const lines = [`GET /trickle HTTP/1.1\r\nHost: ${HOST}\r\n`, ...Array.from({ length: 30 }, (_, i) => `X-Line-${i}: ${i}\r\n`)];
    const r = await raw(gw, lines, 8_000, 300);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(4_000);
    if (r.status) expect(r.status).toBe(408);
  }, 20_000);

  it('closes the connection when the body is too slow (--request-timeout-ms)', async () => {
    const r = await raw(gw, `POST /slow-body HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100\r\n\r\n0123456789`, 8_000);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(5_000);
    expect(up.seen.map((s) => s.url)).not.toContain('/slow-body');
  }, 20_000);

  it('still serves normal requests afterwards', async () => {
    const reply = await request(gw.httpsPort, { host: HOST, path: '/after', ca: gw.ca });
    expect(reply.status).toBe(200);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import net from 'node:net';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { FLAG, FRAME, frame, headerBlock, rawH2 } from '../support/h2-frames.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on an open HTTP/2 connection. */
function h2(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: body === undefined });
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      got = h;
      status = Number(h[':status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, headers: got, body: Buffer.concat(chunks).toString() }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

function connect(port: number, servername: string, ca: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca, servername });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function alpn(port: number, ca: string, protocols: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'a.apps.localhost', ca, ALPNProtocols: protocols }, () => {
      resolve(s.alpnProtocol ?? false);
      s.end();
    });
    s.on('error', reject);
  });
}

const PAGE = '<!doctype html><title>ws</title><p>ws page</p>';

/** The responses to /slow, which the app never ends. */
const slowResponses: ServerResponse[] = [];

/** Serves PAGE at /page, two cookies at /cookies, 304 at /not-modified, a body that never ends at /slow, the usual echo and JSON answers elsewhere. */
function pageUpstream(): Promise<Upstream> {
  return startUpstream((req, res) => {
    if (req.url === '/cookies') {
      res.writeHead(200, [['Set-Cookie', 'one=1'], ['Set-Cookie', 'two=2'], ['Content-Length', '4']].flat());
      res.end(req.method === 'HEAD' ? undefined : 'four');
      return true;
    }
    if (req.url === '/not-modified') {
      res.writeHead(304, { etag: '"v1"' });
      res.end();
      return true;
    }
    if (req.url === '/slow') {
      // Starts a body and never ends it: the client leaves first.
      slowResponses.push(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('started');
      return true;
    }
    if (req.url !== '/page') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
    return true;
  });
}

/**
 * Headless Chromium opens https://<host>/page through the gateway, then a WebSocket from that
 * page, and sends one message: the page's protocol and the echo.
 */
async function browserWebSocket(gw: GatewayProcess, host: string): Promise<{ protocol: string; echo: string }> {
  const browser = await launchBrowser({ trustSpki: [await gatewaySpki(gw.httpsPort, gw.ca, host)] });
  try {
    const page = await browser.newPage();
    await page.goto(`https://${host}:${gw.httpsPort}/page`);
    return await page.evaluate(async () => {
      const protocol = (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol;
      const echo = await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`wss://${location.host}/ws`);
        ws.onopen = () => ws.send('hello from the page');
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => reject(new Error('websocket failed'));
      });
      return { protocol, echo };
    });
  } finally {
    await browser.close();
  }
}

/** Whether the app got the handshake as the gateway's HTTP/2 bridge writes it (lower-case names, its own key), not a browser's HTTP/1.1 one. */
function bridged(up: Upstream): boolean {
  const handshake = up.seen.findLast((r) => r.url === '/ws')!;
  return handshake.rawHeaders[0] === 'host';
}

// HTTP/2 on the HTTPS entrypoint: ALPN, routing each stream by its own :authority, the same
// answers as HTTP/1.1, 421 for what a shared connection cannot serve, hostile clients contained.
describe('HTTP/2 on the HTTPS port', () => {
  let gw: GatewayProcess;
  let a: Upstream;
  let b: Upstream;

  beforeAll(async () => {
    a = await pageUpstream();
    b = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-h2-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'a', target: a.url, public: true },
        { id: 'b', target: b.url, public: true },
        { id: 'p', target: a.url },
        { id: 'db', kind: 'tcp', target: 'tcp://127.0.0.1:9', tls: 'terminate' },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--max-headers', '20', '--workers', '1'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await a?.close();
    await b?.close();
  });

  it('offers h2 and http/1.1 by ALPN', async () => {
    expect(await alpn(gw.httpsPort, gw.ca, ['h2', 'http/1.1'])).toBe('h2');
    expect(await alpn(gw.httpsPort, gw.ca, ['http/1.1'])).toBe('http/1.1');
  });

  it('routes each stream of one connection by its own :authority, as HTTP/1.1 upstream', async () => {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      const [ra, rb] = await Promise.all([
        h2(client, { ':authority': `a.apps.localhost:${gw.httpsPort}`, ':path': '/one?x=1', cookie: ['c1=1', 'c2=2'] }),
        h2(client, { ':authority': `b.apps.localhost:${gw.httpsPort}`, ':path': '/two' }),
      ]);
      expect(ra.status).toBe(200);
      expect(rb.status).toBe(200);
      expect(a.seen.at(-1)!.url).toBe('/one?x=1');
      expect(b.seen.at(-1)!.url).toBe('/two');
      const seen = a.seen.at(-1)!;
      expect(seen.headers.host).toBe(`a.apps.localhost:${gw.httpsPort}`);
      expect(seen.headers['x-forwarded-host']).toBe(`a.apps.localhost:${gw.httpsPort}`);
      expect(seen.headers['x-forwarded-proto']).toBe('https');
      expect(seen.headers.cookie).toBe('c1=1; c2=2');
      expect(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i].toLowerCase() === 'cookie')).toHaveLength(1);
      expect(seen.rawHeaders.some((n, i) => i % 2 === 0 && n.startsWith(':'))).toBe(false);
      // The upstream's response reaches the client without its HTTP/1.1 connection fields.
      expect(ra.headers['x-upstream']).toBe('yes');
      expect(ra.headers.connection).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('streams request bodies with and without a length', async () => {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      const body = 'x'.repeat(300_000);
      const sized = await h2(client, { ':method': 'POST', ':authority': 'a.apps.localhost', ':path': '/sized', 'content-length': String(body.length) }, body);
      expect(JSON.parse(sized.body).body).toBe(body);
      const streamed = await h2(client, { ':method': 'POST', ':authority': 'a.apps.localhost', ':path': '/streamed' }, body);
      expect(JSON.parse(streamed.body).body).toBe(body);
      expect(a.seen.at(-1)!.headers['transfer-encoding']).toBe('chunked');
    } finally {
      client.close();
    }
  });

  it('serves bodiless streams the direct way: HEAD, repeated fields, and a stream the client resets mid-response', async () => {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      const got = await h2(client, { ':authority': 'a.apps.localhost', ':path': '/cookies' });
      expect([got.status, got.body, got.headers['set-cookie'], got.headers['content-length']]).toEqual([200, 'four', ['one=1', 'two=2'], '4']);
      const head = await h2(client, { ':authority': 'a.apps.localhost', ':path': '/cookies', ':method': 'HEAD' });
      expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', '4']);
      // A status that HTTP/2 ends with its head (304, like 204) and no body after it.
      const cached = await h2(client, { ':authority': 'a.apps.localhost', ':path': '/not-modified', 'if-none-match': '"v1"' });
      expect([cached.status, cached.body, cached.headers.etag]).toEqual([304, '', '"v1"']);
      // A reset with an error code is an 'error' on the gateway's stream: the exchange ends as
      // the client's (499), the upstream request is cut, and the connection serves on.
      const slow = client.request({ ':authority': 'a.apps.localhost', ':path': '/slow' });
      slow.on('error', () => {});
      await new Promise<void>((resolve) => slow.once('data', () => resolve()));
      const upstream = slowResponses.at(-1)!;
      const upstreamCut = new Promise<void>((resolve) => (upstream.closed ? resolve() : upstream.once('close', () => resolve())));
      slow.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await upstreamCut;
      expect((await h2(client, { ':authority': 'a.apps.localhost', ':path': '/after-reset' })).status).toBe(200);
    } finally {
      client.close();
    }
    await expect.poll(async () => (await plainGet(gw.adminPort, '/metrics')).body).toMatch(/wharf_gateway_requests_total\{route="a",code="499"\} 1/);
    expect(gw.output()).not.toMatch(/request failed inside the gateway|upstream failed mid-response/);
  });

  it('answers errors, auth and limits as HTTP/1.1 does, and counts the requests per route', async () => {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      const json = { accept: 'application/json' };
      const missing = await h2(client, { ':authority': 'nope.apps.localhost', ...json });
      expect([missing.status, missing.headers['x-wharf-error']]).toEqual([404, 'GW_ROUTE_NOT_FOUND']);
      expect(JSON.parse(missing.body).error.code).toBe('GW_ROUTE_NOT_FOUND');
      const denied = await h2(client, { ':authority': 'p.apps.localhost', ...json });
      expect([denied.status, denied.headers['x-wharf-error']]).toEqual([401, 'GW_AUTH_REQUIRED']);
      const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']));
      const tooMany = await h2(client, { ':authority': 'a.apps.localhost', ...many });
      expect([tooMany.status, tooMany.headers['x-wharf-error']]).toEqual([431, 'GW_HEADERS_TOO_LARGE']);
      const conflict = await h2(client, { ':authority': 'a.apps.localhost', host: 'b.apps.localhost' });
      expect([conflict.status, conflict.headers['x-wharf-error']]).toEqual([400, 'GW_BAD_REQUEST']);
    } finally {
      client.close();
    }
    const metrics = (await plainGet(gw.adminPort, '/metrics')).body;
    expect(metrics).toMatch(/wharf_gateway_requests_total\{route="b",code="200"\} [1-9]/);
    expect(metrics).toMatch(/wharf_gateway_requests_total\{route="p",code="401"\} 1/);
  });

  it('answers 421 for a route bound to SNI and for a host the connection\'s certificate does not cover; HTTP/1.1 is unchanged', async () => {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      for (const authority of ['db.apps.localhost', 'evil.example', `other.example:${gw.httpsPort}`]) {
        const r = await h2(client, { ':authority': authority, accept: 'application/json' });
        expect([r.status, r.headers['x-wharf-error']], authority).toEqual([421, 'GW_MISDIRECTED']);
      }
      // The connection stays usable for what it can serve.
      expect((await h2(client, { ':authority': 'a.apps.localhost' })).status).toBe(200);
    } finally {
      client.close();
    }
    const h1 = await request(gw.httpsPort, { host: 'evil.example', servername: 'a.apps.localhost', ca: gw.ca, headers: { accept: 'application/json' } });
    expect([h1.status, h1.headers['x-wharf-error']]).toEqual([404, 'GW_ROUTE_NOT_FOUND']);
  });

  it('serves a browser its page over h2, and its WebSocket over HTTP/1.1 (extended CONNECT not announced)', async () => {
    expect(await browserWebSocket(gw, 'a.apps.localhost')).toEqual({ protocol: 'h2', echo: 'hello from the page' });
    expect(bridged(a)).toBe(false);
  });

  it('cuts off a client that rapid-resets streams (CVE-2023-44487) while another keeps being served', async () => {
    const good = await connect(gw.httpsPort, 'b.apps.localhost', gw.ca);
    const attacker = await rawH2(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      let served = 0;
      let failed = 0;
      let stop = false;
      let slowest = 0;
      const loop = (async () => {
        while (!stop) {
          const t = performance.now();
          const r = await h2(good, { ':authority': 'b.apps.localhost', ':path': '/ok' }).catch(() => undefined);
          slowest = Math.max(slowest, performance.now() - t);
          if (r?.status === 200) served++;
          else failed++;
        }
      })();
      const block = headerBlock([[':method', 'GET'], [':scheme', 'https'], [':path', '/flood'], [':authority', 'a.apps.localhost']]);
      const cancel = Buffer.alloc(4);
      cancel.writeUInt32BE(0x8); // CANCEL
      const frames: Buffer[] = [];
      for (let id = 1; id < 2 * 5_000; id += 2) frames.push(frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, id, block), frame(FRAME.RST_STREAM, 0, id, cancel));
      await sleep(200); // the good client's connection to its app is up
      slowest = 0;
      attacker.socket.write(Buffer.concat(frames));
      const cut = await Promise.race([attacker.closed.then(() => true), sleep(10_000).then(() => false)]);
      await sleep(300);
      stop = true;
      await loop;
      expect(cut).toBe(true);
      expect(attacker.goaway()).toBeDefined();
      expect(failed).toBe(0);
      expect(served).toBeGreaterThan(0);
      // Streams cancelled in the read that opened them cost no upstream request, and the
      // other client hardly noticed (a generous bound for a shared 2-core machine).
      expect(a.seen.filter((r) => r.url === '/flood')).toHaveLength(0);
      expect(slowest).toBeLessThan(150);
    } finally {
      attacker.socket.destroy();
      good.close();
    }
  });

  it('cuts off a client that floods CONTINUATION frames', async () => {
    const attacker = await rawH2(gw.httpsPort, 'a.apps.localhost', gw.ca);
    try {
      const first = headerBlock([[':method', 'GET'], [':scheme', 'https'], [':path', '/'], [':authority', 'a.apps.localhost']]);
      const frames = [frame(FRAME.HEADERS, 0, 1, first)];
      for (let i = 0; i < 10_000; i++) frames.push(frame(FRAME.CONTINUATION, 0, 1, headerBlock([[`x-c${i}`, 'v']])));
      attacker.socket.write(Buffer.concat(frames));
      const cut = await Promise.race([attacker.closed.then(() => true), sleep(5_000).then(() => false)]);
      expect(cut).toBe(true);
    } finally {
      attacker.socket.destroy();
    }
    // The gateway is still fine.
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    expect((await h2(client, { ':authority': 'a.apps.localhost' })).status).toBe(200);
    client.close();
  });
});

describe('--no-http2', () => {
  it('offers only http/1.1 by ALPN, and serves it', async () => {
    const up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-h1-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'a', target: up.url, public: true }] }));
    const gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--no-http2', '--workers', '1'] });
    try {
      expect(await alpn(gw.httpsPort, gw.ca, ['h2', 'http/1.1'])).toBe('http/1.1');
      expect((await request(gw.httpsPort, { host: 'a.apps.localhost', ca: gw.ca })).status).toBe(200);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

/** One masked client text frame (RFC 6455 §5.2), payload under 126 bytes. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]);
}

describe('WebSockets over HTTP/2 (--h2-websockets)', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  let wrongKey: net.Server;

  beforeAll(async () => {
    up = await pageUpstream();
    // An "app" whose 101 does not answer the key it was sent.
    wrongKey = net.createServer((s) => s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n')));
    await new Promise<void>((r) => wrongKey.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'wharf-h2ws-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'a', target: up.url, public: true },
        { id: 'p', target: up.url },
        { id: 'w', target: `http://127.0.0.1:${(wrongKey.address() as net.AddressInfo).port}`, public: true },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--h2-websockets', '--workers', '1'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await new Promise((r) => wrongKey?.close(r));
  });

  async function connectWs(): Promise<http2.ClientHttp2Session> {
    const client = await connect(gw.httpsPort, 'a.apps.localhost', gw.ca);
    if (!client.remoteSettings.enableConnectProtocol) await new Promise((r) => client.once('remoteSettings', r));
    return client;
  }

  function open(client: http2.ClientHttp2Session, authority: string, extra: http2.OutgoingHttpHeaders = {}): Promise<{ stream: http2.ClientHttp2Stream; headers: http2.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const stream = client.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/ws', ':authority': authority, 'sec-websocket-version': '13', ...extra }, { endStream: false });
      stream.once('response', (headers) => resolve({ stream, headers }));
      stream.once('error', reject);
    });
  }

  it('announces extended CONNECT and bridges it to the app\'s HTTP/1.1 upgrade, subprotocol included', async () => {
    const client = await connectWs();
    try {
      expect(client.remoteSettings.enableConnectProtocol).toBe(true);
      const { stream, headers } = await open(client, 'a.apps.localhost', { 'sec-websocket-protocol': 'chat, superchat' });
      expect(headers[':status']).toBe(200);
      expect(headers['sec-websocket-protocol']).toBe('chat');
      expect(headers['sec-websocket-accept']).toBeUndefined();
      const seen = up.seen.at(-1)!;
      expect(seen.method).toBe('GET');
      expect(seen.headers.upgrade).toBe('websocket');
      expect(seen.headers['sec-websocket-key']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      const echoed = new Promise<Buffer>((resolve) => stream.once('data', resolve));
      stream.write(textFrame('hello over h2'));
      const frame = await echoed;
      expect(frame[0]).toBe(0x81);
      expect(frame.subarray(2, 2 + frame[1]).toString()).toBe('hello over h2');
      const metrics = (await plainGet(gw.adminPort, '/metrics')).body;
      expect(metrics).toMatch(/wharf_gateway_requests_total\{route="a",code="101"\} 1/);
      expect(metrics).toMatch(/wharf_gateway_open_connections\{route="a",kind="ws"\} 1/);
      stream.close();
    } finally {
      client.close();
    }
  });

  it('lets a browser open its WebSocket on the page\'s HTTP/2 connection', async () => {
    expect(await browserWebSocket(gw, 'a.apps.localhost')).toEqual({ protocol: 'h2', echo: 'hello from the page' });
    expect(bridged(up)).toBe(true);
  });

  it('refuses what an HTTP/1.1 upgrade is refused: no credentials, a foreign page; and a wrong accept from the app', async () => {
    const client = await connectWs();
    try {
      const denied = await open(client, 'p.apps.localhost', { accept: 'application/json' });
      expect([denied.headers[':status'], denied.headers['x-wharf-error']]).toEqual([401, 'GW_AUTH_REQUIRED']);
      const forged = await open(client, 'p.apps.localhost', { 'sec-fetch-site': 'same-site', cookie: '__Host-wharf_session=x' });
      expect([forged.headers[':status'], forged.headers['x-wharf-error']]).toEqual([403, 'GW_CROSS_SITE']);
      const wrong = await open(client, 'w.apps.localhost');
      expect([wrong.headers[':status'], wrong.headers['x-wharf-error']]).toEqual([502, 'GW_UPSTREAM_ERROR']);
    } finally {
      client.close();
    }
  });

  it('is not announced by default: browsers keep opening WebSockets over HTTP/1.1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-h2ws-off-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [] }));
    const plain = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--workers', '1'] });
    try {
      const client = await connect(plain.httpsPort, 'a.apps.localhost', plain.ca);
      if (!client.remoteSettings.maxConcurrentStreams || client.remoteSettings.maxConcurrentStreams > 1e6) await new Promise((r) => client.once('remoteSettings', r));
      expect(client.remoteSettings.enableConnectProtocol ?? false).toBe(false);
      expect(client.remoteSettings.maxConcurrentStreams).toBe(100);
      client.close();
    } finally {
      await plain.stop();
    }
  });
});

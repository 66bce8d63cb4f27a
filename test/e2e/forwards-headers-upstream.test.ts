import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'r1.apps.localhost';
const SECRET = 's3cret-value';

/** Names present in a raw [name, value, …] list, lower-cased. */
function names(rawHeaders: string[]): string[] {
  return rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

/** Every value a raw header list carries for `name`. */
function values(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1]);
  return out;
}

/** Sends raw bytes over TLS to the gateway and returns what comes back until the first complete head. */
function rawExchange(gw: GatewayProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: HOST, ca: gw.ca });
    let buf = '';
    const done = () => {
      socket.destroy();
      resolve(buf);
    };
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (buf.includes('\r\n\r\n')) done();
    });
    socket.on('error', reject);
    socket.on('close', done);
    socket.write(text);
  });
}

// What the app sees of a request, and what the client sees of the app's response headers.
describe('headers across the proxy', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url !== '/hop-response') return false;
      // An app answering with per-hop fields of its own: none may reach the client.
      res.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive, X-Hop-Only',
        'keep-alive': 'timeout=5, max=100',
        'proxy-connection': 'keep-alive',
        'x-hop-only': 'must not pass',
        trailer: 'X-Checksum',
        upgrade: 'h2c',
        'proxy-authenticate': 'Basic realm="app"',
        'x-end-to-end': 'kept',
      });
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end('body');
      return true;
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-fwd-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [{ id: 'r1', target: up.url, public: true, headers: { 'X-Secret': SECRET, 'X-Route-Extra': 'extra' } }],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('passes Host through unchanged and sets X-Forwarded-For, -Proto and -Host', async () => {
    const host = `${HOST}:${gw.httpsPort}`;
    const reply = await request(gw.httpsPort, { host, path: '/where?x=1', ca: gw.ca });
    expect(reply.status).toBe(200);
    const seen = up.seen.at(-1)!;
    expect(seen.url).toBe('/where?x=1');
    expect(values(seen.rawHeaders, 'host')).toEqual([host]);
    expect(values(seen.rawHeaders, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(values(seen.rawHeaders, 'x-forwarded-proto')).toEqual(['https']);
    expect(values(seen.rawHeaders, 'x-forwarded-host')).toEqual([host]);
  });

  it('replaces forwarding headers a client sent instead of trusting them', async () => {
    await request(gw.httpsPort, {
      host: HOST,
      ca: gw.ca,
      headers: {
        'X-Forwarded-For': '6.6.6.6',
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Host': 'evil.example',
        'X-Real-IP': '6.6.6.6',
        Forwarded: 'for=6.6.6.6;proto=http',
      },
    });
    const raw = up.seen.at(-1)!.rawHeaders;
    expect(values(raw, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(values(raw, 'x-forwarded-proto')).toEqual(['https']);
    expect(values(raw, 'x-forwarded-host')).toEqual([HOST]);
    expect(raw.join('\n')).not.toContain('6.6.6.6');
    expect(raw.join('\n')).not.toContain('evil.example');
  });

  it('strips hop-by-hop request headers, and any header that Connection names', async () => {
    // Sent by hand: Node's client refuses some of these fields (Trailer without chunking).
    const reply = await rawExchange(gw, [
      'POST /hop HTTP/1.1',
      `Host: ${HOST}`,
      'Connection: keep-alive, X-Drop-Me',
      'Keep-Alive: timeout=30',
      'TE: trailers',
      'Trailer: X-Later',
      'Upgrade: h2c', // without "Connection: upgrade" this is no upgrade, just a field to drop
      'Proxy-Connection: keep-alive',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'X-Drop-Me: 1',
      'X-Keep-Me: 2',
      'Transfer-Encoding: chunked',
      '',
      '5',
      'hello',
      '0',
      'X-Later: trailer-value',
      '',
      '',
    ].join('\r\n'));
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const seen = up.seen.at(-1)!;
    expect(seen.url).toBe('/hop');
    expect(seen.body).toBe('hello');
    const got = names(seen.rawHeaders);
    for (const h of ['te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization', 'x-drop-me', 'x-later']) expect(got, h).not.toContain(h);
    // The gateway may keep its own connection to the app alive, but never with the client's values.
    expect(values(seen.rawHeaders, 'keep-alive')).not.toContain('timeout=30');
    expect(values(seen.rawHeaders, 'connection').join(',').toLowerCase()).not.toContain('x-drop-me');
    expect(values(seen.rawHeaders, 'x-keep-me')).toEqual(['2']);
  });

  it('adds the route headers, overriding a client header of the same name', async () => {
    await request(gw.httpsPort, { host: HOST, ca: gw.ca, headers: { 'x-secret': 'forged-by-client', 'X-Route-Extra': 'client' } });
    const raw = up.seen.at(-1)!.rawHeaders;
    expect(values(raw, 'x-secret')).toEqual([SECRET]);
    expect(values(raw, 'x-route-extra')).toEqual(['extra']);
    expect(raw.join('\n')).not.toContain('forged-by-client');
  });

  it('passes end-to-end request headers and repeated fields as sent', async () => {
    await request(gw.httpsPort, { host: HOST, ca: gw.ca, headers: { 'X-Custom': 'a b c', Accept: 'text/plain', 'X-Multi': ['one', 'two'] } });
    const raw = up.seen.at(-1)!.rawHeaders;
    expect(values(raw, 'x-custom')).toEqual(['a b c']);
    expect(values(raw, 'accept')).toEqual(['text/plain']);
    expect(values(raw, 'x-multi')).toEqual(['one', 'two']);
  });

  it('strips hop-by-hop response headers, and any header the app\'s Connection names', async () => {
    const reply = await request(gw.httpsPort, { host: HOST, path: '/hop-response', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('body');
    expect(reply.headers['x-end-to-end']).toBe('kept');
    for (const h of ['keep-alive', 'proxy-connection', 'x-hop-only', 'trailer', 'upgrade', 'proxy-authenticate']) {
      expect(reply.headers[h], h).toBeUndefined();
    }
    // The gateway's own Connection to the client is its business, but never the app's list.
    expect(String(reply.headers.connection ?? '').toLowerCase()).not.toContain('x-hop-only');
  });

  it('forwards a WebSocket handshake with the same header rules', async () => {
    const before = up.seen.length;
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/socket?q=1`, {
      headers: {
        host: HOST,
        'X-Forwarded-For': '6.6.6.6',
        'X-Secret': 'forged-by-client',
        'X-Drop-Me': '1',
        'Proxy-Connection': 'keep-alive',
        'X-Keep-Me': '2',
      },
      servername: HOST,
      ca: gw.ca,
    } as WebSocket.ClientOptions);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(up.seen.length).toBe(before + 1);
      const seen = up.seen.at(-1)!;
      expect(seen.url).toBe('/socket?q=1');
      const raw = seen.rawHeaders;
      expect(values(raw, 'host')).toEqual([HOST]);
      expect(values(raw, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(values(raw, 'x-forwarded-proto')).toEqual(['https']);
      expect(values(raw, 'x-forwarded-host')).toEqual([HOST]);
      expect(values(raw, 'x-secret')).toEqual([SECRET]);
      expect(values(raw, 'x-route-extra')).toEqual(['extra']);
      expect(values(raw, 'x-keep-me')).toEqual(['2']);
      expect(values(raw, 'upgrade').map((v) => v.toLowerCase())).toEqual(['websocket']);
      expect(values(raw, 'connection').join(',').toLowerCase()).toContain('upgrade');
      expect(values(raw, 'sec-websocket-key')).toHaveLength(1);
      expect(values(raw, 'sec-websocket-version')).toEqual(['13']);
      expect(names(raw)).not.toContain('proxy-connection');
      expect(raw.join('\n')).not.toContain('6.6.6.6');
      expect(raw.join('\n')).not.toContain('forged-by-client');
    } finally {
      ws.terminate();
    }
  });

  it('drops a header that the WebSocket handshake\'s Connection names', async () => {
    // ws sets Connection: Upgrade itself; send the handshake by hand to list one more name.
    const before = up.seen.length;
    const head = await rawExchange(gw,
      `GET /socket HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade, X-Drop-Me\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Drop-Me: 1\r\n\r\n');
    expect(head.startsWith('HTTP/1.1 101')).toBe(true);
    expect(up.seen.length).toBe(before + 1);
    expect(names(up.seen.at(-1)!.rawHeaders)).not.toContain('x-drop-me');
  });
});

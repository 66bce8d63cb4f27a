import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseRoute, type HttpRoute } from '../../protocol/route.ts';
import type { LiveHttpRoute } from '../routing/live-routes.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.ts';

function live(headers: Record<string, string> = {}): LiveHttpRoute {
  const route = parseRoute({ id: 'r1', target: 'http://127.0.0.1:1', headers }) as HttpRoute;
  return { route, headerList: Object.entries(headers).flat(), headerNames: new Set(Object.keys(headers).map((h) => h.toLowerCase())) } as unknown as LiveHttpRoute;
}

// The parts of an IncomingMessage that header forwarding reads, as Node's parser fills them.
function message(raw: string[], remoteAddress = '::ffff:10.1.2.3'): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i].toLowerCase()] = raw[i + 1];
  return { rawHeaders: raw, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function asObject(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i].toLowerCase()] ??= []).push(flat[i + 1]);
  return out;
}

describe('upstreamRequestHeaders', () => {
  it('keeps Host, drops hop-by-hop and spoofed forwarding fields, sets X-Forwarded-*', () => {
    const req = message([
      'Host', 'R1.apps.localhost:8443', 'Connection', 'keep-alive, X-Drop', 'X-Drop', '1', 'Keep-Alive', 'timeout=5',
      'TE', 'trailers', 'Proxy-Connection', 'x', 'X-Forwarded-For', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'Accept', 'text/html',
    ]);
    const h = asObject(upstreamRequestHeaders(req, live(), { dropAuthorization: false }));
    expect(h.host).toEqual(['R1.apps.localhost:8443']);
    expect(h.accept).toEqual(['text/html']);
    for (const gone of ['connection', 'x-drop', 'keep-alive', 'te', 'proxy-connection', 'forwarded']) expect(h[gone], gone).toBeUndefined();
    expect(h['x-forwarded-for']).toEqual(['10.1.2.3']);
    expect(h['x-forwarded-proto']).toEqual(['https']);
    expect(h['x-forwarded-host']).toEqual(['R1.apps.localhost:8443']);
  });

  it("never forwards Wharf's token or cookies, and lets the route's headers win", () => {
    const req = message(['Host', 'r1.apps.localhost', 'Authorization', 'Bearer jwt', 'Cookie', 'a=1; __Host-wharf_session=s', 'X-Api', 'client']);
    const h = asObject(upstreamRequestHeaders(req, live({ Authorization: 'token s3cret', 'X-API': 'route' }), { dropAuthorization: true, prefix: '/app/r1' }));
    expect(h.authorization).toEqual(['token s3cret']);
    expect(h['x-api']).toEqual(['route']);
    expect(h.cookie).toEqual(['a=1']);
    expect(h['x-forwarded-prefix']).toEqual(['/app/r1']);
  });

  it('keeps the WebSocket handshake fields for an upgrade', () => {
    const req = message(['Host', 'r1.apps.localhost', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k']);
    const h = asObject(upstreamRequestHeaders(req, live(), { dropAuthorization: false, upgrade: true }));
    expect(h.connection).toEqual(['upgrade']);
    expect(h.upgrade).toEqual(['websocket']);
    expect(h['sec-websocket-key']).toEqual(['k']);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop response fields and those the Connection header names', () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(raw)).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });
});

import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { rawErrorResponse } from '../errors.ts';
import type { LiveHttpRoute } from '../routing/live-routes.ts';
import { upstreamRequestHeaders, type ForwardOptions } from './forwarded-headers.ts';
import { upstreamErrorCode } from './http-proxy.ts';

export interface UpgradeLimits {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
}

function head(statusLine: string, rawHeaders: string[]): string {
  let out = `${statusLine}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) out += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${out}\r\n`;
}

/**
 * Proxies a WebSocket handshake; after the upstream's 101 the two sockets are piped as raw
 * bytes (never re-framed) with backpressure, and destroyed together. A non-101 answer is
 * relayed as a normal response and the connection closed.
 */
export function proxyUpgrade(
  req: IncomingMessage, socket: Duplex, clientHead: Buffer, live: LiveHttpRoute, forward: ForwardOptions,
  path: string, limits: UpgradeLimits, log: Logger, started: number,
): void {
  const stats = live.record.stats;
  const upstreamReq = upgradeRequest(live, req.method!, path, upstreamRequestHeaders(req, live, { ...forward, upgrade: true }), limits);
  let settled = false;
  const fail = (err: Error & { code?: string }) => {
    if (settled) return;
    settled = true;
    upstreamReq.destroy();
    const code = upstreamErrorCode(err);
    log.warn({ route: live.route.id, code, err: err.message }, 'websocket upstream failed');
    if (socket.writable) socket.end(rawErrorResponse(code, req.headers.accept));
    else socket.destroy();
    stats.record(code === 'GW_UPSTREAM_TIMEOUT' ? 504 : 502, (performance.now() - started) * 1000, 0, 0);
  };
  upstreamReq.setTimeout(limits.headersTimeoutMs, () => fail(Object.assign(new Error('no answer to the upgrade'), { code: 'UND_ERR_HEADERS_TIMEOUT' })));
  upstreamReq.on('error', fail);
  socket.on('error', () => upstreamReq.destroy());

  upstreamReq.on('response', (res) => {
    // The app refused the upgrade: relay its answer as it is, then close.
    settled = true;
    stats.record(res.statusCode ?? 502, (performance.now() - started) * 1000, 0, 0);
    const rawHeaders = res.rawHeaders.filter((_, i, all) => !/^(connection|keep-alive|transfer-encoding)$/i.test(all[i - (i % 2)]));
    socket.write(head(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`, [...rawHeaders, 'Connection', 'close']));
    res.pipe(socket);
  });

  upstreamReq.on('upgrade', (res, upstream, upstreamHead) => {
    settled = true;
    upstreamReq.setTimeout(0);
    stats.record(101, (performance.now() - started) * 1000, 0, 0);
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    upstream.setNoDelay(true);
    socket.write(head(`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}`, res.rawHeaders));
    if (upstreamHead.length) socket.write(upstreamHead);
    if (clientHead.length) upstream.write(clientHead);
    pipeWebSocket(socket, upstream, live);
  });
  upstreamReq.end();
}

/** The upgrade request to the route's app, on a connection of its own (an upgraded socket never returns to a pool). */
export function upgradeRequest(live: LiveHttpRoute, method: string, path: string, headers: string[], limits: UpgradeLimits): http.ClientRequest {
  const target = new URL(live.route.target);
  return (target.protocol === 'https:' ? https : http).request({
    host: target.hostname,
    port: target.port,
    method,
    path,
    headers,
    agent: false,
    timeout: limits.connectTimeoutMs,
    setHost: false,
  });
}

/**
 * After the app's 101: the client's side (an HTTP/1.1 socket, or an HTTP/2 stream) and the
 * app's socket piped as raw bytes with backpressure, counted as the route's open WebSocket,
 * closed with the route, and destroyed together.
 */
export function pipeWebSocket(socket: Duplex, upstream: Duplex, live: LiveHttpRoute): void {
  const stats = live.record.stats;
  stats.open.ws++;
  stats.wsConnections++;
  live.record.connections.add(socket);
  upstream.on('data', (chunk: Buffer) => {
    stats.bytesOut += chunk.length;
    stats.lastActivity = Date.now();
  });
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.lastActivity = Date.now();
  });
  upstream.pipe(socket);
  socket.pipe(upstream);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stats.open.ws--;
    live.record.connections.delete(socket);
    socket.destroy();
    upstream.destroy();
  };
  // pipe() passes an end on to the other side; a close or error on either ends both.
  for (const s of [socket, upstream]) {
    s.on('close', close);
    s.on('error', close);
  }
}

import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { h2Stream } from '../entrypoints/h2-compat.ts';
import { sendError } from '../errors.ts';
import type { LiveHttpRoute } from '../routing/live-routes.ts';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardOptions } from './forwarded-headers.ts';
import { upstreamErrorCode } from './http-proxy.ts';
import { pipeWebSocket, upgradeRequest, type UpgradeLimits } from './websocket-proxy.ts';

/** RFC 6455 §1.3: the GUID the accept value is hashed with. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The Sec-WebSocket-Accept an RFC 6455 server answers a key with. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/**
 * A WebSocket opened on an HTTP/2 stream (extended CONNECT, RFC 8441) bridged to the app's
 * HTTP/1.1 Upgrade: the app sees an ordinary handshake (GET, Upgrade, a key of the gateway's
 * own, the client's version, subprotocols and extensions), and its 101 becomes the stream's
 * 200 once its Sec-WebSocket-Accept matches that key (RFC 8441 §5: there is no key on HTTP/2).
 * Then the stream and the app's socket carry the frames as raw bytes, as on HTTP/1.1. An app
 * that refuses the upgrade has its answer relayed as a response.
 */
export function proxyH2WebSocket(
  req: IncomingMessage, res: ServerResponse, live: LiveHttpRoute, forward: ForwardOptions,
  path: string, limits: UpgradeLimits, log: Logger, started: number,
): void {
  const stats = live.record.stats;
  const stream = h2Stream(req);
  const key = randomBytes(16).toString('base64');
  const headers = upstreamRequestHeaders(req, live, { ...forward, upgrade: true }).filter((_, i, all) => all[i - (i % 2)].toLowerCase() !== 'sec-websocket-key');
  headers.push('sec-websocket-key', key);
  const upstreamReq = upgradeRequest(live, 'GET', path, headers, limits);
  let settled = false;
  const answer = (status: number, code?: Parameters<typeof sendError>[1]) => {
    settled = true;
    if (code && !res.headersSent && !stream.destroyed) sendError(res, code, req.headers.accept);
    stats.record(status, (performance.now() - started) * 1000, 0, 0);
  };
  const fail = (err: Error & { code?: string }) => {
    if (settled) return;
    upstreamReq.destroy();
    const code = upstreamErrorCode(err);
    log.warn({ route: live.route.id, code, err: err.message }, 'websocket upstream failed');
    answer(code === 'GW_UPSTREAM_TIMEOUT' ? 504 : 502, code);
  };
  upstreamReq.setTimeout(limits.headersTimeoutMs, () => fail(Object.assign(new Error('no answer to the upgrade'), { code: 'UND_ERR_HEADERS_TIMEOUT' })));
  upstreamReq.on('error', fail);
  stream.on('close', () => {
    if (!settled) upstreamReq.destroy();
  });

  upstreamReq.on('response', (upRes) => {
    // The app refused the upgrade: its answer, as it is.
    answer(upRes.statusCode ?? 502);
    res.writeHead(upRes.statusCode ?? 502, clientResponseHeaders(upRes.rawHeaders));
    upRes.pipe(res);
  });

  upstreamReq.on('upgrade', (upRes, upstream, upstreamHead) => {
    upstreamReq.setTimeout(0);
    if (upRes.headers['sec-websocket-accept'] !== acceptFor(key)) {
      upstream.destroy();
      log.warn({ route: live.route.id, code: 'GW_UPSTREAM_ERROR' }, 'websocket upstream answered another key');
      return answer(502, 'GW_UPSTREAM_ERROR');
    }
    answer(101);
    if (stream.destroyed) return upstream.destroy();
    upstream.setNoDelay(true);
    // Subprotocol, extensions and the app's other fields go on; the accept value is HTTP/1.1's alone.
    const fields = clientResponseHeaders(upRes.rawHeaders).filter((_, i, all) => all[i - (i % 2)].toLowerCase() !== 'sec-websocket-accept');
    res.writeHead(200, fields);
    if (upstreamHead.length) stream.write(upstreamHead);
    pipeWebSocket(stream, upstream, live);
  });
  upstreamReq.end();
}

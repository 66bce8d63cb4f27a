import http2 from 'node:http2';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { rawErrorResponse, sendError, type GatewayErrorCode } from '../errors.ts';
import { watchBodyIdle } from './body-idle-timeout.ts';
import { h2Stream, type H2Request } from './h2-compat.ts';
import { H2DirectRequest, H2DirectResponse } from './h2-direct.ts';
import { h2ServerOptions, setupH2Session } from './h2-session.ts';
import type { TlsMaterial } from './tls-material.ts';
import { TLS_PROFILE } from './tls-profile.ts';

export interface HttpsLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
  headersTimeoutMs: number;
  /** Time to send a whole request; 0: none (a stalled body is cut by clientIdleTimeoutMs). */
  requestTimeoutMs: number;
  /** A request body that sends no byte this long is closed. */
  clientIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Offer HTTP/2 by ALPN beside HTTP/1.1. */
  http2: boolean;
  /** Announce extended CONNECT (RFC 8441): WebSockets on HTTP/2 streams. */
  h2Websockets: boolean;
}

/**
 * The entrypoint's server. `goAway()` starts a drain: GOAWAY on every HTTP/2 session, and on
 * any that opens from now on, so that streams in flight finish and no new one starts.
 */
export type HttpsEntrypoint = (https.Server | http2.Http2SecureServer) & { goAway(): void };

/** Handles a WebSocket opened on an HTTP/2 stream by extended CONNECT (RFC 8441). */
export type H2WebSocketHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Which answer a parse error gets before the connection is closed. */
function parseErrorCode(code: string | undefined): GatewayErrorCode | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 'GW_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'GW_REQUEST_TIMEOUT';
  if (code?.startsWith('HPE_')) return 'GW_BAD_REQUEST';
  return undefined; // resets and aborted TLS: nobody is listening for an answer
}

/**
 * The HTTPS entrypoint: TLS termination (tls-profile.ts) with certificates chosen by SNI,
 * HTTP/2 and HTTP/1.1 keep-alive by ALPN (HTTP/1.1 only with --no-http2), and the limits that
 * keep slow or malformed clients from holding it (head size and count, head timeout, idle
 * request bodies; h2-session.ts for HTTP/2's own). It does not listen itself: the SNI router
 * on the HTTPS port (which also applies the connection caps) hands it its connections.
 * Malformed requests, smuggling attempts included (Content-Length with Transfer-Encoding),
 * are refused by Node's strict parser with 400 and never reach a handler.
 *
 * Both protocols feed the same handlers: an HTTP/2 stream comes as a request/response pair
 * shaped like HTTP/1.1's (h2-direct.ts without a body, h2-compat.ts with one), after the head
 * checks HTTP/1.1's parser makes.
 */
export function createHttpsEntrypoint(
  tls: TlsMaterial,
  limits: HttpsLimits,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  log: Logger,
  onH2WebSocket?: H2WebSocketHandler,
): HttpsEntrypoint {
  const options = {
    ...tls.default,
    ...TLS_PROFILE, // TLS 1.2 (ECDHE + AEAD) and 1.3, the server's order
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, tls.select(servername)),
    handshakeTimeout: 10_000,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (its default, 30 s, would let a slow
    // client hold a connection far past headersTimeout).
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.headersTimeoutMs / 2)),
    // A request without Host gets the gateway's own 400 (with its error code) from the router.
    requireHostHeader: false,
    // A request without a body gets an already-ended stream: no stream events to run per GET.
    optimizeEmptyRequests: true,
    noDelay: true,
  };
  const server = Object.assign(limits.http2
    ? http2.createSecureServer({ ...options, ...h2ServerOptions(limits) })
    : https.createServer({ ...options, ALPNProtocols: ['http/1.1'] }), { goAway: () => {} });
  // One more than the limit, so that the router can see that it was exceeded and say 431
  // (Node would otherwise drop the extra fields silently).
  (server as https.Server).maxHeadersCount = limits.maxHeaders + 1;
  const idleMs = limits.clientIdleTimeoutMs;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (h2Stream(req) !== undefined) return h2Request(req, res);
    // An HTTP/1 connection whose request line claims another version ("GET / HTTP/2.0", which
    // Node's parser takes): not HTTP/2 for all that (it once was taken for it, and crashed the process).
    if (req.httpVersionMajor !== 1) return sendError(res, 'GW_BAD_REQUEST', req.headers.accept);
    if (!req.complete) watchBodyIdle(req, res, idleMs);
    onRequest(req, res);
  });
  server.on('upgrade', onUpgrade);
  /**
   * An HTTP/2 stream's request: the head checks HTTP/1.1's parser makes, then the same
   * pipeline. It waits for the rest of the bytes read with it to be processed: a stream that
   * the client cancelled right away (rapid reset, CVE-2023-44487, whose HEADERS and RST_STREAM
   * frames come in one read) is then closed already, and costs no upstream request.
   */
  const h2Request = (req: IncomingMessage, res: ServerResponse): void => {
    setImmediate(serveH2, req, res);
  };
  const serveH2 = (req: IncomingMessage, res: ServerResponse): void => {
    if (h2Stream(req).closed) return;
    const refusal = (req as unknown as H2Request).refusal(limits);
    if (refusal) return sendError(res, refusal, req.headers.accept);
    if (!h2Stream(req).endAfterHeaders) watchBodyIdle(req, res, idleMs);
    onRequest(req, res);
  };
  if (limits.http2) {
    const h2 = server as http2.Http2SecureServer;
    // Node's compatibility layer listens for streams once a 'request' listener exists (the one
    // above, which HTTP/1.1 connections need). It keeps the streams with a body, CONNECT and
    // Expect; the rest go the cheaper way (h2-direct.ts).
    const [compat, ...others] = h2.listeners('stream') as ((...args: unknown[]) => void)[];
    if (compat === undefined || others.length > 0) throw new Error(`Node ${process.version}'s HTTP/2 server did not add the one compatibility 'stream' listener the gateway replaces; run the Node version in package.json's engines`);
    h2.removeListener('stream', compat);
    h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) => {
      if (!stream.endAfterHeaders || headers[':method'] === 'CONNECT' || headers.expect !== undefined) return compat.call(h2, stream, headers, flags, raw);
      const req = new H2DirectRequest(stream, headers, raw);
      h2Request(req as unknown as IncomingMessage, new H2DirectResponse(req) as unknown as ServerResponse);
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    let goingAway = false;
    h2.on('session', (session) => {
      if (goingAway) return session.close();
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      setupH2Session(session, limits, log);
    });
    // What the gateway calls at shutdown on an HTTPS server (https.Server has it): every
    // HTTP/1.1 connection and every HTTP/2 session, busy or not.
    Object.assign(h2, {
      closeAllConnections(): void {
        https.Server.prototype.closeAllConnections.call(h2 as unknown as https.Server);
        for (const session of sessions) session.destroy();
      },
    });
    server.goAway = () => {
      goingAway = true;
      for (const session of sessions) session.close();
    };
    // HTTP/2's CONNECT streams, and HTTP/1.1's CONNECT requests (which a server without this
    // listener closes, as this one still does).
    h2.on('connect', (req: IncomingMessage | http2.Http2ServerRequest, resOrSocket: ServerResponse | Duplex) => {
      if (req.httpVersionMajor !== 2) return (resOrSocket as Duplex).destroy();
      const h2req = req as unknown as IncomingMessage;
      const res = resOrSocket as ServerResponse;
      const refusal = (req as unknown as H2Request).refusal(limits);
      if (refusal) return sendError(res, refusal, h2req.headers.accept);
      // Only extended CONNECT for a WebSocket (RFC 8441 §4), and only when announced.
      if (!onH2WebSocket || !limits.h2Websockets || h2req.headers[':protocol'] !== 'websocket') return sendError(res, 'GW_UPGRADE_UNSUPPORTED', h2req.headers.accept);
      onH2WebSocket(h2req, res);
    });
  }
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const code = parseErrorCode(err.code);
    // A request whose body turned out malformed (bad chunking) already has a response object.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (!code || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    log.debug({ code, err: err.message }, 'client request refused');
    if (inFlight) {
      inFlight.shouldKeepAlive = false;
      sendError(inFlight, code, undefined);
    } else {
      socket.end(rawErrorResponse(code));
    }
  });
  server.on('tlsClientError', (err: Error, _socket: TLSSocket) => log.debug({ err: err.message }, 'tls handshake failed'));
  return server;
}

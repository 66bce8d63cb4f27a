import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { rawErrorResponse, sendError, type GatewayErrorCode } from '../errors.ts';
import type { TlsMaterial } from './tls-material.ts';
import { TLS_PROFILE } from './tls-profile.ts';

export interface HttpsLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** Which answer a parse error gets before the connection is closed. */
function parseErrorCode(code: string | undefined): GatewayErrorCode | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 'GW_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'GW_REQUEST_TIMEOUT';
  if (code?.startsWith('HPE_')) return 'GW_BAD_REQUEST';
  return undefined; // resets and aborted TLS: nobody is listening for an answer
}

/**
 * The HTTPS entrypoint: TLS termination (tls-profile.ts) with certificates chosen by SNI, HTTP/1.1
 * keep-alive, and the limits that keep slow or malformed clients from holding it (head size
 * and count, head and request timeouts). It does not listen itself: the SNI router on the
 * HTTPS port (which also applies the connection caps) hands it its connections.
 * Malformed requests, smuggling attempts included (Content-Length with Transfer-Encoding),
 * are refused by Node's strict parser with 400 and never reach a handler.
 */
export function createHttpsEntrypoint(
  tls: TlsMaterial,
  limits: HttpsLimits,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  log: Logger,
): https.Server {
  const server = https.createServer({
    ...tls.default,
    ...TLS_PROFILE, // TLS 1.2 (ECDHE + AEAD) and 1.3, the server's order
    SNICallback: (servername, cb) => cb(null, tls.select(servername)),
    ALPNProtocols: ['http/1.1'],
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
  });
  // One more than the limit, so that the router can see that it was exceeded and say 431
  // (Node would otherwise drop the extra fields silently).
  server.maxHeadersCount = limits.maxHeaders + 1;
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
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
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'tls handshake failed'));
  return server;
}

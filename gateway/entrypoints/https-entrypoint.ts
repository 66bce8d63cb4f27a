import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { rawErrorResponse, type GatewayErrorCode } from '../errors.ts';
import type { TlsMaterial } from './tls-material.ts';

export interface HttpsLimits {
  maxHeaderBytes: number;
  maxHeaders: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
}

/** Which answer a parse error gets before the connection is closed. */
function parseErrorCode(code: string | undefined): GatewayErrorCode | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 'GW_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'GW_REQUEST_TIMEOUT';
  if (code?.startsWith('HPE_')) return 'GW_BAD_REQUEST';
  return undefined; // resets and aborted TLS: nobody is listening for an answer
}

/**
 * The HTTPS entrypoint: TLS termination with certificates chosen by SNI, HTTP/1.1
 * keep-alive, and the limits that keep slow or malformed clients from holding it
 * (head size and count, head and request timeouts, connection caps in total and per address).
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
    SNICallback: (servername, cb) => cb(null, tls.select(servername)),
    ALPNProtocols: ['http/1.1'],
    minVersion: 'TLSv1.2',
    handshakeTimeout: 10_000,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (its default, 30 s, would let a slow
    // client hold a connection far past headersTimeout).
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.headersTimeoutMs / 2)),
    requireHostHeader: true,
    noDelay: true,
  });
  // One more than the limit, so that the router can see that it was exceeded and say 431
  // (Node would otherwise drop the extra fields silently).
  server.maxHeadersCount = limits.maxHeaders + 1;
  server.maxConnections = limits.maxConnections;

  const perIp = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (perIp.get(ip) ?? 0) + 1;
    if (n > limits.maxConnectionsPerIp) {
      socket.destroy();
      return;
    }
    perIp.set(ip, n);
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  });
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const code = parseErrorCode(err.code);
    if (code && socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      log.debug({ code, err: err.message }, 'client request refused');
      socket.end(rawErrorResponse(code));
    } else {
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'tls handshake failed'));
  return server;
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { LiveTcpRoute } from '../routing/live-routes.ts';
import type { TcpConnections } from './tcp-connections.ts';
import { pipeTcp } from './tcp-pipe.ts';
import { legacyTunnelStream, speaksHalfClose, TUNNEL_VERSION, TUNNEL_VERSION_HEADER, tunnelStream } from './tunnel-stream.ts';

/** `wss://<main host>/_wharf/tunnel/<route>`: a TCP route carried over a WebSocket (`wharf connect`). */
export const TUNNEL_PREFIX = '/_wharf/tunnel/';

export interface TunnelOptions {
  connections: TcpConnections;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  log: Logger;
}

/**
 * Carries a TCP route for a client that can reach only the HTTPS port. The caller has already
 * checked the token; here the WebSocket is accepted and its binary messages become the TCP
 * stream to the route's upstream, half-closes included (tunnel-stream.ts). The route's
 * allowlist does not apply: the token is the key.
 */
export class TunnelEndpoint {
  readonly #o: TunnelOptions;
  // One frame carries at most what one socket read gives; 1 MiB leaves room and caps memory.
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });

  constructor(options: TunnelOptions) {
    this.#o = options;
    // A client that speaks half-close is told that this gateway does too (tunnel-stream.ts).
    this.#wss.on('headers', (headers, req) => {
      if (speaksHalfClose(req.headers)) headers.push(`${TUNNEL_VERSION_HEADER}: ${TUNNEL_VERSION}`);
    });
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, live: LiveTcpRoute): void {
    const { route, record } = live;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = speaksHalfClose(req.headers) ? tunnelStream(ws) : legacyTunnelStream(ws);
      // pipeTcp handles errors once admitted; a refused one still closes (1013) with an error.
      stream.on('error', (err) => this.#o.log.debug({ route: route.id, err: err.message }, 'tunnel closed'));
      const pipeOptions = { connectTimeoutMs: this.#o.connectTimeoutMs, idleTimeoutMs: this.#o.idleTimeoutMs, stats: record.stats, log: this.#o.log, route: route.id };
      this.#o.connections.admit(route.id, stream, () => pipeTcp(stream, route.target, pipeOptions), () => ws.close(1013, 'too many connections'));
    });
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}

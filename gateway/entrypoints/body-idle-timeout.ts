import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { h2Stream, isH2 } from './h2-compat.ts';

/**
 * Closes a request whose body stops: no byte for `idleMs` (--client-idle-timeout-ms). There
 * is no whole-request timer (--request-timeout-ms is off by default): a long upload that
 * keeps sending, however slowly, is never cut; one that stalls is.
 *
 * HTTP/1.1: the connection's own inactivity timer, which every read and write of the socket
 * restarts; when it fires with nobody listening, Node's HTTP server destroys the socket.
 * HTTP/2: the stream's timer, the same way; the stream is cancelled (RST_STREAM), the
 * connection and its other streams go on. Once the body is complete the timer is off again
 * (HTTP/1.1's keep-alive timer takes over once the response is done, as before).
 */
export function watchBodyIdle(req: IncomingMessage, res: ServerResponse, idleMs: number): void {
  if (isH2(req)) {
    const stream = h2Stream(req);
    stream.setTimeout(idleMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    req.once('end', () => stream.setTimeout(0));
    return;
  }
  const socket = req.socket;
  socket.setTimeout(idleMs);
  req.once('end', () => {
    // A response already finished has set the keep-alive timer: leave it.
    if (!res.writableFinished) socket.setTimeout(0);
  });
}

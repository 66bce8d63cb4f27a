import { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';

/*
 * The tunnel's wire format (`wharf connect` ↔ the gateway's /_wharf/tunnel/<route>), both ends:
 * each binary message carries the next bytes of the TCP stream, and an empty binary message
 * says "no more bytes from me" (a TCP FIN, passed on as a half-close). A WebSocket has no
 * half-close of its own: its close handshake ends both directions, so ending one side with a
 * close frame would cut off the reply still on its way (`echo hi | nc` got nothing). The
 * WebSocket is closed (1000) once both sides have sent their end; a close with another code
 * (TUNNEL_ABORTED, 1013 "too many connections", 1006 lost) is an abort: the stream is destroyed
 * with an error and the TCP connection on that side is closed at once.
 *
 * Both ends declare the format in the handshake (TUNNEL_VERSION_HEADER: the client asks, the
 * gateway answers): with an older peer, which would drop the empty message and so never see
 * an end, each side keeps the old plain byte stream (legacyTunnelStream), where ending one
 * side closes the whole WebSocket.
 */

/** The handshake header both ends send to say they speak this format. */
export const TUNNEL_VERSION_HEADER = 'x-wharf-tunnel';
export const TUNNEL_VERSION = '2';

/** Whether a handshake's headers (the client's request, or the gateway's answer) declare this format. */
export function speaksHalfClose(headers: Record<string, string | string[] | undefined>): boolean {
  return headers[TUNNEL_VERSION_HEADER] === TUNNEL_VERSION;
}

/** The format before half-close, for an older peer: bytes as binary messages; an end closes the WebSocket. */
export function legacyTunnelStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  // The stream does not emit 'close' itself; the connection bookkeeping waits for it.
  ws.once('close', () => stream.emit('close'));
  stream.on('error', () => ws.terminate());
  return stream;
}

const EOF = Buffer.alloc(0);

/** A close that ends the stream rather than aborting it: 1000, or none given (1005: an older peer's ws.close()). */
const CLEAN = new Set([1000, 1005]);

/** Close code for an aborted tunnel (an error or reset on one side): 4000–4999 are the application's. */
export const TUNNEL_ABORTED = 4000;

export class TunnelClosedError extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(`tunnel closed (${code}${reason ? ` ${reason}` : ''})`);
    this.code = code;
  }
}

/** A Duplex over an open WebSocket that carries half-closes both ways; it emits 'close' once the WebSocket has closed. */
export function tunnelStream(ws: WebSocket): Duplex {
  let sentEnd = false;
  let gotEnd = false;
  const closeWhenDone = () => {
    if (sentEnd && gotEnd && ws.readyState === ws.OPEN) ws.close(1000);
  };
  const stream = new Duplex({
    allowHalfOpen: true,
    // Destroyed (and 'close' emitted) when the WebSocket closes, not when both sides have
    // ended: the connection bookkeeping waits for the socket underneath.
    autoDestroy: false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      if (!chunk.length) return done(); // the empty message means EOF: never send it as data
      if (ws.readyState !== ws.OPEN) return done(new TunnelClosedError(1006, 'while writing'));
      ws.send(chunk, { binary: true }, done);
    },
    final(done) {
      if (ws.readyState !== ws.OPEN) return done();
      ws.send(EOF, { binary: true }, (err) => {
        sentEnd = true;
        done(err);
        closeWhenDone();
      });
    },
    destroy(err, done) {
      // Destroyed before both ends were exchanged: the peer must reset its side, not end it.
      if (ws.readyState === ws.OPEN) {
        if (sentEnd && gotEnd && !err) ws.close(1000);
        else ws.close(TUNNEL_ABORTED, 'aborted');
      }
      done(err);
    },
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (gotEnd) return;
    if (isBinary && data.length === 0) {
      gotEnd = true;
      stream.push(null);
      closeWhenDone();
      return;
    }
    if (!stream.push(data)) ws.pause();
  });
  ws.once('close', (code: number, reason: Buffer) => {
    if (stream.destroyed) return;
    if (!CLEAN.has(code) && !(sentEnd && gotEnd)) {
      stream.destroy(new TunnelClosedError(code, reason.toString()));
      return;
    }
    // A clean close: what was read so far is all there is (an older peer ends this way).
    if (!gotEnd) {
      gotEnd = true;
      stream.push(null);
    }
    // Nothing can be written any more; what is buffered to read still is.
    if (stream.readableEnded) stream.destroy();
    else stream.once('end', () => stream.destroy());
  });
  ws.on('error', (err) => stream.destroy(err));
  return stream;
}

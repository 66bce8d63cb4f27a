import http2, { type SecureServerOptions, type ServerHttp2Session } from 'node:http2';
import type { Logger } from 'pino';
import { H2Request, H2Response } from './h2-compat.ts';

export interface H2Limits {
  maxHeaderBytes: number;
  maxHeaders: number;
  keepAliveTimeoutMs: number;
  /** Announce extended CONNECT (RFC 8441), so that browsers open WebSockets on HTTP/2 streams. */
  h2Websockets: boolean;
}

/**
 * Streams one client may have open at once. RFC 9113 §6.5.2 asks for at least 100; Node's
 * default is no limit at all, which lets one connection hold any number of upstream requests.
 */
export const MAX_CONCURRENT_STREAMS = 100;

/*
 * Flow control (RFC 9113 §5.2). With the protocol's 64 KiB windows a client may send only
 * 64 KiB before it waits a round trip for a WINDOW_UPDATE: an upload over HTTP/2 then crawls
 * where HTTP/1.1 runs at TCP's speed. A stream may have 1 MiB in flight, the connection 8 MiB
 * in all; what the gateway holds per connection is bounded by the latter, as a TCP receive
 * buffer bounds it for HTTP/1.1.
 */
const STREAM_WINDOW = 1 << 20; // 1 MiB
const CONNECTION_WINDOW = 8 << 20; // 8 MiB

/*
 * Stream resets a client may send (CVE-2023-44487, "rapid reset": open a stream, cancel it at
 * once, repeat, so that the server does the work of each request and the client none). nghttp2
 * keeps a token bucket of resets per connection and ends a connection that empties it with
 * GOAWAY. Its default burst, 1000, lets one connection start a thousand upstream requests
 * before that; a browser cancels a few dozen streams when a page is left mid-load.
 */
const RESET_BURST = 200;
const RESET_RATE = 30; // per second, once the burst is spent

/**
 * Options of the HTTP/2 server behind the HTTPS entrypoint: HTTP/2 and HTTP/1.1 by ALPN, and
 * what keeps one hostile client from hurting the others.
 *
 * Header limits follow HTTP/1.1's (--max-headers, --max-header-bytes) so that a head one
 * protocol refuses with 431, the other does too: the settings leave room above them (a stream
 * past that room is reset, as HTTP/1.1's parser would close), and H2Request.refusal answers
 * 431 between the two. CONTINUATION floods (CVE-2024-27983, CVE-2024-28182) are refused by
 * nghttp2 itself, which ends a connection after 8 CONTINUATION frames in one header block.
 */
export function h2ServerOptions(limits: H2Limits): SecureServerOptions {
  return {
    allowHTTP1: true,
    Http2ServerRequest: H2Request,
    Http2ServerResponse: H2Response as typeof http2.Http2ServerResponse,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      initialWindowSize: STREAM_WINDOW,
      maxHeaderListSize: 2 * limits.maxHeaderBytes,
      // HPACK table the client's encoder may use (RFC 7541 §4.2): the protocol's default,
      // and the most memory a client's headers can pin between requests.
      headerTableSize: 4_096,
      enableConnectProtocol: limits.h2Websockets,
    },
    // Pseudo-headers count too; twice the limit leaves 431 room, as maxHeaderListSize does.
    maxHeaderListPairs: 2 * limits.maxHeaders + 8,
    // Our own HPACK encoder's table for responses.
    maxDeflateDynamicTableSize: 4_096,
    // What one connection's streams, headers and buffers may hold (MB); past it new streams are refused.
    maxSessionMemory: 32,
    streamResetBurst: RESET_BURST,
    streamResetRate: RESET_RATE,
    // Upstream responses may repeat a field HTTP/2 would want once (two Content-Types):
    // passed on as HTTP/1.1 passes them, rather than failing the response.
    strictSingleValueFields: false,
  };
}

/**
 * Per connection: the connection window (the setting above is per stream), and the idle
 * timeout HTTP/1.1 has as keep-alive: a connection without open streams for
 * --keep-alive-timeout-ms is closed with GOAWAY. Streams that are open but quiet are not cut
 * here: an app still thinking is the upstream timeout's business.
 */
export function setupH2Session(session: ServerHttp2Session, limits: H2Limits, log: Logger): void {
  let open = 0;
  session.on('stream', (stream) => {
    open++;
    stream.once('close', () => open--);
  });
  session.setLocalWindowSize(CONNECTION_WINDOW);
  session.setTimeout(limits.keepAliveTimeoutMs, () => {
    if (open === 0) session.close();
  });
  session.on('goaway', (code: number) => {
    if (code !== http2.constants.NGHTTP2_NO_ERROR) log.debug({ code }, 'http/2 client went away with an error');
  });
  session.on('error', (err) => log.debug({ err: err.message }, 'http/2 session failed'));
}

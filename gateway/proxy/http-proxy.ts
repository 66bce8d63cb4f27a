import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { sendError, type GatewayErrorCode } from '../errors.ts';
import type { LiveHttpRoute } from '../routing/live-routes.ts';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardOptions } from './forwarded-headers.ts';

/** What the gateway answers for an upstream failure that happens before the response head. */
export function upstreamErrorCode(err: Error & { code?: string }): GatewayErrorCode {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return 'GW_UPSTREAM_REFUSED';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'GW_UPSTREAM_TIMEOUT';
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'GW_UPSTREAM_RESET';
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return 'GW_BAD_REQUEST';
    default:
      return 'GW_UPSTREAM_ERROR';
  }
}

function uncork(socket: { uncork(): void }): void {
  socket.uncork();
}

/** Status recorded for a request the client gave up on (nginx's convention). */
const CLIENT_CLOSED = 499;

/**
 * One proxied request, as an undici dispatch handler: the response head and body are
 * written to the client as they arrive, with backpressure both ways (a full client pauses
 * the upstream socket; undici reads the request body only as fast as the upstream takes it).
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #live: LiveHttpRoute;
  readonly #log: Logger;
  readonly #started: number;
  bytesIn: number;
  #bytesOut = 0;
  #status = 0;
  #done = false;
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, live: LiveHttpRoute, log: Logger, started: number, bytesIn: number) {
    this.#req = req;
    this.#res = res;
    this.#live = live;
    this.#log = log;
    this.#started = started;
    this.bytesIn = bytesIn;
    live.record.stats.open.http++;
    res.once('close', () => {
      if (this.#done) return;
      // Recorded first: aborting calls onError, which must not count it as an upstream failure.
      this.#finish(CLIENT_CLOSED);
      this.#abort?.(new Error('client closed the connection'));
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim responses (other than 101, which never reaches here) are not relayed.
    if (statusCode < 200) return true;
    this.#status = statusCode;
    const res = this.#res;
    // Hold the socket's writes until this tick ends: undici usually delivers head, body and
    // end of a small response in one go, and they then leave as one TLS record and one
    // syscall instead of one for the head and one for the body.
    const socket = res.socket;
    if (socket) {
      socket.cork();
      process.nextTick(uncork, socket);
    }
    res.writeHead(statusCode, statusText, clientResponseHeaders(rawHeaders));
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#bytesOut += chunk.length;
    if (this.#res.write(chunk)) return true;
    // The client is slower than the app: pause the upstream until the client drains.
    this.#res.once('drain', this.#resume!);
    return false;
  }

  onComplete(): void {
    this.#res.end();
    this.#finish(this.#status);
  }

  onError(err: Error & { code?: string }): void {
    if (this.#done) return;
    const res = this.#res;
    if (res.writableEnded) {
      // Already answered by the gateway itself (a malformed request body got its 400).
      this.#finish(res.statusCode);
      return;
    }
    if (res.headersSent) {
      // The head is out: the only honest signal left is to cut the client's response short.
      this.#log.warn({ route: this.#live.route.id, code: err.code, err: err.message }, 'upstream failed mid-response');
      res.destroy();
      this.#finish(this.#status);
      return;
    }
    const code = upstreamErrorCode(err);
    this.#log.warn({ route: this.#live.route.id, code, err: err.message }, 'upstream request failed');
    if (!res.destroyed) sendError(res, code, this.#req.headers.accept);
    this.#finish(res.statusCode);
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    const stats = this.#live.record.stats;
    stats.open.http--;
    stats.record(status, (performance.now() - this.#started) * 1000, this.bytesIn, this.#bytesOut);
  }
}

/** The declared body size, or -1 for a chunked body whose size is known only at its end. */
function requestBodySize(req: IncomingMessage): number {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return Number(cl);
  return req.headers['transfer-encoding'] !== undefined ? -1 : 0;
}

/** A chunked request body, counted as it streams (its size is in no header). */
async function* counted(req: IncomingMessage, exchange: Exchange): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    exchange.bytesIn += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

/** Forwards one HTTP request to the route's upstream pool. `started` is performance.now(). */
export function proxyHttp(req: IncomingMessage, res: ServerResponse, live: LiveHttpRoute, forward: ForwardOptions, path: string, log: Logger, started: number): void {
  const size = requestBodySize(req);
  const exchange = new Exchange(req, res, live, log, started, Math.max(size, 0));
  let headers: string[];
  try {
    headers = upstreamRequestHeaders(req, live, forward);
  } catch (err) {
    exchange.onError(err as Error);
    return;
  }
  try {
    const body = size === 0 ? null : size > 0 ? req : Readable.from(counted(req, exchange), { objectMode: false });
    live.upstream.dispatch({ method: req.method!, path, headers, body }, exchange);
  } catch (err) {
    exchange.onError(err as Error);
  }
}

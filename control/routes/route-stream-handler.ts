import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pingLine, ROUTE_STREAM_CONTENT_TYPE, ROUTE_STREAM_PING_INTERVAL_MS, type SessionState } from '../../protocol/route-stream.ts';
import type { RouteDelta, RouteLog } from './route-log.ts';

export interface RouteStreamHandlerOptions {
  routes: RouteLog;
  /** Whether the request carries an accepted gateway key (`Authorization: Bearer …`); the caller's job. */
  authorize: (req: IncomingMessage) => boolean | Promise<boolean>;
  pingIntervalMs?: number; // 15_000: 15 s
  /**
   * Bytes a stream may have waiting to be sent beyond its first catch-up (snapshot or
   * missed deltas). A gateway that falls further behind is disconnected; it resumes with
   * `since`, which costs less than buffering without limit.
   */
  maxBufferedBytes?: number; // 4 MiB
  log?: Logger;
  /**
   * Called with the `X-Wharf-Public-Url` header of an authorized stream request: the public
   * URL the gateway serves at (control adopts the first one unless WHARF_PUBLIC_URL is set).
   */
  onPublicUrl?: (reported: string) => void;
  /**
   * App sessions (control/keys/app-sessions.ts): their state goes into every snapshot, and a
   * `sessions` line after a resume's catch-up and after every change. Left out: none are sent.
   */
  sessions?: SessionFeed;
  /**
   * Brings `routes` up to date with the store shared by several controls (SharedRouteLog): a
   * gateway coming from a control further along waits for it (up to 2 s) and then resumes
   * here, rather than taking a snapshot.
   */
  catchUp?: () => Promise<void>;
}

/** The longest a resuming gateway waits for this control to catch up with its version. */
const CATCH_UP_MS = 2_000;

/** What the stream needs of app sessions. */
export interface SessionFeed {
  state(): SessionState;
  /** The state as a `sessions` line. */
  line(): string;
  /** Calls `listener` with the new line after each change; returns the unsubscribe function. */
  subscribe(listener: (line: string) => void): () => void;
}

/** The request header a gateway reports its public URL in (see ControlProvider). */
export const PUBLIC_URL_HEADER = 'x-wharf-public-url';

export interface RouteStreamHandler {
  /** node:http `(req, res)`; under fastify: `reply.hijack(); handler.handle(request.raw, reply.raw)`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Open streams. */
  readonly open: number;
  /** Ends every open stream and answers later requests 503 (control shutting down). */
  close(): void;
}

/**
 * Serves the route stream of protocol/route-stream.ts: a snapshot or the deltas since
 * `?since=` (with `epoch`), then every change as it happens and a ping while nothing does.
 */
export function createRouteStreamHandler(options: RouteStreamHandlerOptions): RouteStreamHandler {
  const { routes, authorize, log } = options;
  const pingIntervalMs = options.pingIntervalMs ?? ROUTE_STREAM_PING_INTERVAL_MS;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const streams = new Set<ServerResponse>();
  let closed = false;

  const refuse = (res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}) => {
    const body = `${JSON.stringify({ error: { code, status, message } })}\n`;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-wharf-error': code, ...extra });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') return refuse(res, 405, 'CTL_METHOD', 'The route stream is read with GET.', { allow: 'GET' });
    if (closed) return refuse(res, 503, 'CTL_SHUTTING_DOWN', 'Control is shutting down; reconnect shortly.', { 'retry-after': '1' });
    let allowed: boolean;
    try {
      allowed = await authorize(req);
    } catch (err) {
      log?.error({ err }, 'route stream: checking the gateway key failed');
      return refuse(res, 500, 'CTL_INTERNAL', 'Checking the gateway key failed; see control\'s log.');
    }
    if (res.destroyed) return;
    if (!allowed) {
      return refuse(res, 401, 'CTL_GATEWAY_KEY', 'This gateway key is not accepted. Create one with `wharf gateways add NAME` and set WHARF_GATEWAY_KEY.', { 'www-authenticate': 'Bearer' });
    }
    const reported = req.headers[PUBLIC_URL_HEADER];
    if (typeof reported === 'string' && options.onPublicUrl) {
      try {
        options.onPublicUrl(reported);
      } catch (err) {
        log?.error({ err }, 'route stream: taking the reported public URL failed');
      }
    }
    const query = new URL(req.url ?? '/', 'http://control').searchParams;
    const sinceRaw = query.get('since');
    if (sinceRaw !== null && (!/^\d{1,16}$/.test(sinceRaw) || !Number.isSafeInteger(Number(sinceRaw)))) {
      return refuse(res, 400, 'CTL_INVALID', 'since: must be a whole number (a version from the stream)');
    }
    const epoch = query.get('epoch');
    if (sinceRaw !== null && epoch === routes.epoch && Number(sinceRaw) > routes.version && options.catchUp) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        options.catchUp().catch((err: unknown) => log?.warn({ err }, 'route stream: catching up with the store failed')),
        new Promise((resolve) => (timer = setTimeout(resolve, CATCH_UP_MS))),
      ]);
      clearTimeout(timer);
      if (res.destroyed) return;
    }
    if (closed) return refuse(res, 503, 'CTL_SHUTTING_DOWN', 'Control is shutting down; reconnect shortly.', { 'retry-after': '1' });

    // From here to subscribe() everything is synchronous: no change can fall between the
    // catch-up and the live deltas.
    const missed = sinceRaw !== null && (epoch === null || epoch === routes.epoch) ? routes.since(Number(sinceRaw)) : undefined;
    res.writeHead(200, { 'content-type': `${ROUTE_STREAM_CONTENT_TYPE}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    req.socket.setNoDelay(true);
    const sessions = options.sessions;
    if (missed) {
      for (const delta of missed) res.write(delta.line);
      // Revocations may have come while the gateway was away: the whole state, before the ping.
      if (sessions) res.write(sessions.line());
      res.write(pingLine(routes.version));
    } else {
      res.write(routes.snapshotLine(sessions?.state()));
    }
    // The catch-up may be large (a snapshot of every route); the bound applies beyond it.
    const limit = res.writableLength + maxBufferedBytes;
    streams.add(res);
    const send = (line: string) => {
      if (res.destroyed || res.writableEnded) return;
      res.write(line);
      if (res.writableLength > limit) {
        log?.warn({ buffered: res.writableLength, version: routes.version }, 'route stream: gateway too slow to keep up; disconnected (it resumes with since)');
        res.destroy();
      }
    };
    const unsubscribe = routes.subscribe((delta: RouteDelta) => send(delta.line));
    const unsubscribeSessions = sessions?.subscribe(send);
    const ping = setInterval(() => send(pingLine(routes.version)), pingIntervalMs);
    ping.unref();
    res.once('close', () => {
      clearInterval(ping);
      unsubscribe();
      unsubscribeSessions?.();
      streams.delete(res);
    });
    log?.debug({ since: sinceRaw, resumed: Boolean(missed), version: routes.version }, 'route stream opened');
  }

  return {
    handle,
    get open() {
      return streams.size;
    },
    close() {
      closed = true;
      for (const res of streams) res.end();
    },
  };
}

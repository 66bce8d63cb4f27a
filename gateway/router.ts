import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AuthResult, Authenticator } from './auth/authenticator.ts';
import { bearerToken, takeLinkToken } from './auth/credentials.ts';
import { isForeignRequest, mayRedirectToSignIn } from './auth/request-origin.ts';
import { connectionCertificate } from './entrypoints/h2-compat.ts';
import { gatewayErrors, rawErrorResponse, sendError, type GatewayErrorCode } from './errors.ts';
import { proxyHttp } from './proxy/http-proxy.ts';
import type { ForwardOptions } from './proxy/forwarded-headers.ts';
import { proxyH2WebSocket } from './proxy/h2-websocket-proxy.ts';
import { proxyUpgrade, type UpgradeLimits } from './proxy/websocket-proxy.ts';
import type { LiveHttpRoute, LiveRoutes, LiveStartingRoute, LiveTcpRoute } from './routing/live-routes.ts';
import { boundToServerName } from './routing/misdirected.ts';
import { HostMatcher } from './routing/route-table.ts';
import { TUNNEL_PREFIX, type TunnelEndpoint } from './tcp/tunnel.ts';

export interface RouterOptions {
  live: LiveRoutes;
  hosts: HostMatcher;
  auth: Authenticator;
  pathRouting: boolean;
  maxHeaders: number;
  upgrade: UpgradeLimits;
  accessLog: boolean;
  /** Carries TCP routes over WebSockets on the main host (`wharf connect`). */
  tunnel: TunnelEndpoint;
  log: Logger;
  /**
   * Set when fed by control: the main host is proxied to control (`route`), and a browser
   * without a valid app cookie is sent to `<publicUrl>auth/app` to sign in.
   */
  control?: { route: LiveHttpRoute; publicUrl: string };
}

/**
 * Denials a browser can cure by signing in at control. A one-time link opened again (back,
 * reload, a bookmark) is one: control hands out a fresh link.
 */
const SIGN_IN_CURES = new Set<GatewayErrorCode>(['GW_AUTH_REQUIRED', 'GW_AUTH_EXPIRED', 'GW_AUTH_INVALID', 'GW_LINK_USED']);

/**
 * Where a request goes: the route, the path to send upstream, and the path-routing prefix.
 * A starting route is resolved too: the caller is authenticated before it hears "setting up",
 * so that a one-time link is exchanged (and leaves the address) while the app starts.
 */
type Target = { live: LiveHttpRoute | LiveStartingRoute; path: string; prefix: string | undefined } | { error: GatewayErrorCode } | { redirect: string };

const APP_PREFIX = '/app/';

/**
 * The request pipeline of the HTTPS entrypoint: resolve the route from Host (or the
 * `/app/<id>/` path), check the caller, then proxy. WebSocket upgrades take the same steps.
 */
export class Router {
  readonly #o: RouterOptions;

  constructor(options: RouterOptions) {
    this.#o = options;
  }

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    try {
      if (this.#o.accessLog) this.#logAccess(req, res, started);
      if (req.rawHeaders.length > this.#o.maxHeaders * 2) return sendError(res, 'GW_HEADERS_TOO_LARGE', req.headers.accept);
      if (req.httpVersionMajor === 2 && this.#misdirected(req)) return sendError(res, 'GW_MISDIRECTED', req.headers.accept);
      const control = this.#o.control;
      if (control && this.#toControl(req)) {
        // The dashboard's cookie is protected from every app page as an app's cookie is.
        if (isForged(req, false)) return sendError(res, 'GW_CROSS_SITE', req.headers.accept);
        return proxyHttp(req, res, control.route, { dropAuthorization: false, keepWharfCookies: true }, req.url!, this.#o.log, started);
      }
      const target = this.#resolve(req);
      if ('error' in target) return sendError(res, target.error, req.headers.accept);
      if ('redirect' in target) return redirect(res, target.redirect, '');
      const { live, path, prefix } = target;
      if (!live.route.public && isForged(req, false)) {
        sendError(res, 'GW_CROSS_SITE', req.headers.accept);
        return live.record.stats.record(res.statusCode, (performance.now() - started) * 1000, 0, 0);
      }
      const auth = this.#o.auth.check(req, live.route.instance, live.route.public, prefix ? `${prefix}/` : '/');
      const go = (result: AuthResult) => {
        if (result.kind === 'pass' && isReady(live)) return proxyHttp(req, res, live, { dropAuthorization: result.bearer, prefix }, path, this.#o.log, started);
        // Answered by the gateway itself, but still the route's request: 401s, 303s and 503s count too.
        if (result.kind === 'pass') sendError(res, 'GW_ROUTE_STARTING', req.headers.accept);
        else if (result.kind === 'deny') {
          const signIn = this.#signInUrl(req, result.code, live.route.instance, prefix);
          if (signIn) redirect(res, signIn, '');
          else sendError(res, result.code, req.headers.accept);
        }
        else redirect(res, result.location, result.cookie);
        live.record.stats.record(res.statusCode, (performance.now() - started) * 1000, 0, 0);
      };
      if (auth instanceof Promise) auth.then(go).catch((err: unknown) => this.#internal(err, res));
      else go(auth);
    } catch (err) {
      this.#internal(err, res);
    }
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (code: GatewayErrorCode): void => {
      socket.end(rawErrorResponse(code, req.headers.accept));
    };
    socket.on('error', () => socket.destroy());
    try {
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') return refuse('GW_UPGRADE_UNSUPPORTED');
      if (req.rawHeaders.length > this.#o.maxHeaders * 2) return refuse('GW_HEADERS_TOO_LARGE');
      if (req.url!.startsWith(TUNNEL_PREFIX) && this.#o.hosts.isMain(HostMatcher.hostname(req.headers.host))) return this.#tunnel(req, socket, head, refuse);
      this.#webSocket(req, refuse, (live, forward, path, started) => proxyUpgrade(req, socket, head, live, forward, path, this.#o.upgrade, this.#o.log, started));
    } catch (err) {
      this.#o.log.error({ err }, 'upgrade failed');
      refuse('GW_INTERNAL');
    }
  };

  /**
   * A WebSocket on an HTTP/2 stream (extended CONNECT, RFC 8441; the entrypoint has checked
   * its head): the same checks as an HTTP/1.1 upgrade.
   */
  readonly handleH2WebSocket = (req: IncomingMessage, res: ServerResponse): void => {
    const refuse = (code: GatewayErrorCode): void => {
      if (!res.headersSent && !res.destroyed) sendError(res, code, req.headers.accept);
    };
    try {
      if (this.#misdirected(req)) return refuse('GW_MISDIRECTED');
      this.#webSocket(req, refuse, (live, forward, path, started) => proxyH2WebSocket(req, res, live, forward, path, this.#o.upgrade, this.#o.log, started));
    } catch (err) {
      this.#o.log.error({ err }, 'upgrade failed');
      refuse('GW_INTERNAL');
    }
  };

  /**
   * A WebSocket handshake, whichever the protocol: route, cross-site check, auth, readiness,
   * then `proxy`; or `refuse` with the code, counted as the route's request once a route is known.
   */
  #webSocket(req: IncomingMessage, refuse: (code: GatewayErrorCode) => void, proxy: (live: LiveHttpRoute, forward: ForwardOptions, path: string, started: number) => void): void {
    const started = performance.now();
    const target = this.#resolve(req);
    if ('error' in target) return refuse(target.error);
    if ('redirect' in target) return refuse('GW_ROUTE_NOT_FOUND');
    const { live, path, prefix } = target;
    // A handshake the gateway refuses is still the route's request, counted as requests are.
    const refuseRoute = (code: GatewayErrorCode): void => {
      refuse(code);
      live.record.stats.record(gatewayErrors[code].status, (performance.now() - started) * 1000, 0, 0);
    };
    if (!live.route.public && isForged(req, true)) return refuseRoute('GW_CROSS_SITE');
    const go = (result: AuthResult) => {
      if (result.kind === 'deny') return refuseRoute(result.code);
      // A WebSocket cannot follow a redirect: a link token on an upgrade is not accepted.
      if (result.kind === 'redirect') return refuseRoute('GW_AUTH_REQUIRED');
      if (!isReady(live)) return refuseRoute('GW_ROUTE_STARTING');
      if (this.#o.accessLog) this.#o.log.info({ host: req.headers.host, path: req.url!.split('?')[0], http: req.httpVersion }, 'websocket');
      proxy(live, { dropAuthorization: result.bearer, prefix }, path, started);
    };
    const auth = this.#o.auth.check(req, live.route.instance, live.route.public, '/');
    if (auth instanceof Promise) auth.then(go).catch((err: unknown) => {
      this.#o.log.error({ err }, 'upgrade failed');
      refuse('GW_INTERNAL');
    });
    else go(auth);
  }

  /**
   * An HTTP/2 request this connection cannot serve (routing/misdirected.ts): its authority is a
   * route chosen by TLS server name, or a host the connection's certificate does not cover.
   * HTTP/1.1 sends one host per connection and never gets here.
   */
  #misdirected(req: IncomingMessage): boolean {
    const hostname = HostMatcher.hostname(req.headers.host);
    if (!hostname) return false; // a 400, decided by routing
    const id = this.#o.hosts.routeId(hostname);
    const live = id === undefined ? undefined : this.#o.live.table.get(id);
    if (live !== undefined && boundToServerName(live.route)) return true;
    return !connectionCertificate(req).covers(hostname);
  }

  /** `wharf connect`: a token-checked WebSocket carrying a TCP route. */
  #tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, refuse: (code: GatewayErrorCode) => void): void {
    const id = req.url!.slice(TUNNEL_PREFIX.length).split('?')[0];
    const live = this.#o.live.table.get(id);
    if (live?.route.kind !== 'tcp') return refuse('GW_ROUTE_NOT_FOUND');
    if (live.route.status !== 'active') return refuse('GW_ROUTE_STARTING');
    if (isForged(req, true)) return refuse('GW_CROSS_SITE');
    const go = (result: AuthResult) => {
      if (result.kind !== 'pass') return refuse(result.kind === 'deny' ? result.code : 'GW_AUTH_REQUIRED');
      this.#o.tunnel.accept(req, socket, head, live as LiveTcpRoute);
    };
    const auth = this.#o.auth.check(req, live.route.instance, false, '/');
    if (auth instanceof Promise) auth.then(go, () => refuse('GW_INTERNAL'));
    else go(auth);
  }

  /** A main-host request that is control's: everything but the tunnel and (under path routing) `/app/`. */
  #toControl(req: IncomingMessage): boolean {
    const url = req.url!;
    if (url.charCodeAt(0) !== 47 /* / */ || !this.#o.hosts.isMain(HostMatcher.hostname(req.headers.host))) return false;
    if (url.startsWith(TUNNEL_PREFIX)) return false;
    return !(this.#o.pathRouting && url.startsWith(APP_PREFIX));
  }

  /**
   * Where a browser goes to sign in (DESIGN.md "Tokens"): control's `/auth/app`, when fed by
   * control, for a GET/HEAD that is a browser's top-level navigation (mayRedirectToSignIn) and sent no Bearer token. Under path routing the
   * app's root is the return (control accepts returns on the app's own host only). The return
   * never carries the link token that failed: control adds a fresh one.
   */
  #signInUrl(req: IncomingMessage, code: GatewayErrorCode, instance: string, prefix: string | undefined): string | undefined {
    const control = this.#o.control;
    if (!control || !SIGN_IN_CURES.has(code) || (req.method !== 'GET' && req.method !== 'HEAD')) return undefined;
    if (req.headers.authorization || !mayRedirectToSignIn(req)) return undefined;
    const url = new URL('auth/app', control.publicUrl);
    url.searchParams.set('instance', instance);
    if (!prefix) url.searchParams.set('return', `https://${req.headers.host}${takeLinkToken(req.url!)?.rest ?? req.url}`);
    return url.href;
  }

  #resolve(req: IncomingMessage): Target {
    const hosts = this.#o.hosts;
    const hostname = HostMatcher.hostname(req.headers.host);
    const url = req.url!;
    // Only origin-form targets (RFC 9112 §3.2.1): absolute-form and `*` are not for apps.
    // HTTP/1.1 requires Host (RFC 9112 §3.2); routing needs it.
    if (url.charCodeAt(0) !== 47 /* / */ || !hostname) return { error: 'GW_BAD_REQUEST' };
    let id = hosts.routeId(hostname);
    let path = url;
    let prefix: string | undefined;
    if (id === undefined) {
      if (!this.#o.pathRouting || !hosts.isMain(hostname) || !url.startsWith(APP_PREFIX)) return { error: 'GW_ROUTE_NOT_FOUND' };
      const end = url.slice(APP_PREFIX.length).search(/[/?]/);
      id = end < 0 ? url.slice(APP_PREFIX.length) : url.slice(APP_PREFIX.length, APP_PREFIX.length + end);
      prefix = APP_PREFIX + id;
      path = url.slice(prefix.length);
      // `/app/x` → `/app/x/`, so that the app's relative links resolve under its prefix.
      if (path === '' || path[0] === '?') return this.#o.live.table.get(id) ? { redirect: `${prefix}/${path}` } : { error: 'GW_ROUTE_NOT_FOUND' };
    }
    const live = this.#o.live.table.get(id);
    if (live === undefined || live.route.kind !== 'http') return { error: 'GW_ROUTE_NOT_FOUND' };
    return { live: live as LiveHttpRoute | LiveStartingRoute, path, prefix };
  }

  #internal(err: unknown, res: ServerResponse): void {
    this.#o.log.error({ err }, 'request failed inside the gateway');
    if (!res.headersSent && !res.destroyed) sendError(res, 'GW_INTERNAL', res.req.headers.accept);
    else res.destroy();
  }

  #logAccess(req: IncomingMessage, res: ServerResponse, started: number): void {
    res.once('finish', () => {
      // The query string is left out: it may hold a link token.
      this.#o.log.info({ host: req.headers.host, method: req.method, path: req.url!.split('?')[0], http: req.httpVersion, status: res.statusCode, ms: +(performance.now() - started).toFixed(2) }, 'access');
    });
  }
}

/** Whether the route's app takes requests: not while it is starting (with or without a target yet). */
function isReady(live: LiveHttpRoute | LiveStartingRoute): live is LiveHttpRoute {
  return live.route.status === 'active' && 'upstream' in live;
}

/**
 * A request that rides on a cookie (no Bearer token) but was made by another page than the
 * target's own: refused, because the cookie, not the page, would be what authenticates it.
 */
function isForged(req: IncomingMessage, upgrade: boolean): boolean {
  return bearerToken(req.headers.authorization) === undefined && isForeignRequest(req, upgrade);
}

/**
 * A path taken from the request (`//evil.example/x` is a valid request target) stays a path on
 * this host: browsers read a Location of `//host/…` or `/\host/…` as another host.
 */
export function sameHostLocation(location: string): string {
  return location[0] === '/' ? location.replace(/^[/\\]+/, '/') : location;
}

function redirect(res: ServerResponse, location: string, cookie: string): void {
  const headers: Record<string, string> = { location: sameHostLocation(location), 'cache-control': 'no-store', 'content-length': '0' };
  if (cookie) headers['set-cookie'] = cookie;
  res.writeHead(303, headers);
  res.end();
}

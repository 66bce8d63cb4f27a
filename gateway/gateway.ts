import type { AddressInfo, Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Authenticator } from './auth/authenticator.ts';
import { fileKeys, followedKeys, remoteKeys, type KeySource } from './auth/key-source.ts';
import { TokenVerifier } from './auth/token-verifier.ts';
import { createAdminEntrypoint, type AdminTable } from './entrypoints/admin.ts';
import { createHttpRedirect } from './entrypoints/http-redirect.ts';
import { createHttpsEntrypoint, type HttpsEntrypoint } from './entrypoints/https-entrypoint.ts';
import { loadTlsMaterial } from './entrypoints/tls-material.ts';
import { createGatewayMetrics } from './metrics/prometheus.ts';
import { StatsPusher } from './metrics/stats-pusher.ts';
import { ControlProvider } from './providers/control-provider.ts';
import type { RouteErrors } from './providers/file-provider.ts';
import { checkSettings, createLinkClaims, createRouteProvider, createSessionCookies, tlsFiles } from './gateway-sources.ts';
import type { WorkerLink } from './supervisor/worker-link.ts';
import { localCaps } from './tcp/connection-caps.ts';
import { UpstreamPools } from './proxy/upstream-pools.ts';
import { Router } from './router.ts';
import { LiveRoutes, RouteRecord, type LiveHttpRoute } from './routing/live-routes.ts';
import { HostMatcher } from './routing/route-table.ts';
import { parseControlUrls } from '../protocol/control-urls.ts';
import { GATEWAY_KEY_HEADER } from '../protocol/gateway-forwarding.ts';
import type { SessionState } from '../protocol/route-stream.ts';
import { sameSite } from '../protocol/site.ts';
import type { GatewaySettings } from './settings.ts';
import { createSniRouter } from './tcp/sni-router.ts';
import { TcpConnections } from './tcp/tcp-connections.ts';
import { TcpListeners } from './tcp/tcp-listeners.ts';
import { TunnelEndpoint } from './tcp/tunnel.ts';

export interface GatewayAddresses {
  https: string;
  http?: string;
  /** Empty in a worker: its supervisor serves the admin port. */
  admin: string;
}

export interface Gateway {
  addresses: GatewayAddresses;
  live: LiveRoutes;
  tcpListeners: TcpListeners;
  close(): Promise<void>;
  /**
   * Stops accepting and lets what is open finish: requests in flight complete (HTTP/1.1
   * connections are told to close after their response, HTTP/2 sessions get GOAWAY); WebSockets
   * and TCP connections get `graceMs`, then whatever is left is closed. Resolves when closed.
   */
  drain(graceMs: number): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/**
 * Starts the gateway: entrypoints, route provider, auth and metrics, wired together. With
 * `worker`, it is one of a supervisor's workers (supervisor/): routes, session state, link
 * claims and connection caps come from the supervisor, which also serves the admin port.
 */
export async function startGateway(s: GatewaySettings, log: Logger, worker?: WorkerLink): Promise<Gateway> {
  checkSettings(s);
  const { certs, clientCa } = tlsFiles(s);
  const tls = loadTlsMaterial(certs);

  const pools = new UpstreamPools({ connectTimeoutMs: s.upstreamConnectTimeoutMs, headersTimeoutMs: s.upstreamTimeoutMs, connections: s.upstreamConnections });
  const live = new LiveRoutes(pools);
  // The caps hold for the whole gateway: a worker's are counted by its supervisor.
  const caps = worker ? worker.caps : localCaps(s);
  const tcpConnections = new TcpConnections(live, caps.tcp, s.tcpCloseGraceMs);
  const tcpListeners = new TcpListeners(live, tcpConnections, { host: s.host, portRange: s.tcpPorts, connectTimeoutMs: s.upstreamConnectTimeoutMs, idleTimeoutMs: s.tcpIdleTimeoutMs }, log);
  const tunnel = new TunnelEndpoint({ connections: tcpConnections, connectTimeoutMs: s.upstreamConnectTimeoutMs, idleTimeoutMs: s.tcpIdleTimeoutMs, log });
  let keys: KeySource | undefined;
  let tokens: TokenVerifier | undefined;
  // Fed by control, tokens are control's: its JWKS is the default (of several controls, the
  // one the route stream comes from: they publish the same keys).
  const controls = s.control ? parseControlUrls(s.control) : [];
  let followed = controls[0];
  const jwks = s.jwks ?? (followed ? new URL('/.well-known/jwks.json', followed).href : undefined);
  if (s.jwks === undefined && controls.length > 1) {
    keys = followedKeys(controls, () => followed, s.jwksCooldownMs);
    tokens = new TokenVerifier(keys);
  } else if (jwks) {
    const onChange = () => tokens?.flush();
    keys = /^https?:\/\//.test(jwks) ? remoteKeys(jwks, s.jwksCooldownMs) : await fileKeys(jwks, log, onChange);
    tokens = new TokenVerifier(keys);
  } else {
    log.warn('no --jwks given: only public routes can be reached');
  }
  // Where cookie keys come from and links are claimed: gateway-sources.ts (a worker asks
  // its supervisor).
  const auth = new Authenticator({
    tokens,
    sessionTtlS: s.sessionTtlS,
    sessions: createSessionCookies(s),
    links: worker ? worker.links : createLinkClaims(s, log),
  });
  const publicHost = s.publicUrl ? new URL(s.publicUrl).hostname : 'localhost';
  if (sameSite(publicHost, s.appsDomain)) {
    log.warn({ publicHost, appsDomain: s.appsDomain }, 'the apps domain and the dashboard appear to be one site: an app page then counts as same-site to the dashboard; serve apps from a domain of their own (docs/security.md)');
  }
  const hosts = new HostMatcher(s.appsDomain, [publicHost, 'localhost', '127.0.0.1', '[::1]']);
  // Fed by control: the main host is control's (DESIGN.md "One front door"). Its public URL
  // (for sign-in redirects) defaults to https://localhost:<https port>/, known once listening.
  const controlRoute = followed ? { route: controlLiveRoute(followed, s.key!, pools), publicUrl: s.publicUrl ?? '' } : undefined;
  /** Pools of every control proxied to so far: kept until shutdown, as requests may still run on one. */
  const controlTargets = new Set(controlRoute ? [controlRoute.route.route.target] : []);
  // Of several controls, the main host goes where the route stream comes from: a live one.
  const follow = (url: string) => {
    followed = url;
    if (!controlRoute) return;
    const next = controlLiveRoute(url, s.key!, pools);
    if (next.route.target === controlRoute.route.route.target) {
      pools.release(next.route.target);
      return;
    }
    if (controlTargets.has(next.route.target)) pools.release(next.route.target);
    controlTargets.add(next.route.target);
    controlRoute.route = next;
  };
  const router = new Router({
    control: controlRoute,
    live, hosts, auth, log,
    pathRouting: s.pathRouting,
    maxHeaders: s.maxHeaders,
    upgrade: { connectTimeoutMs: s.upstreamConnectTimeoutMs, headersTimeoutMs: s.upstreamTimeoutMs },
    accessLog: s.accessLog,
    tunnel,
  });

  let routeErrors: RouteErrors = [];
  const onSessions = (state: SessionState) => {
    const { keyChanged, closed } = auth.applySessions(state);
    log.info({ revocations: state.revoked.length, keyChanged, closed }, 'app sessions from control');
  };
  let draining: ((graceMs: number) => Promise<void>) | undefined;
  const provider = worker ? undefined : createRouteProvider(s, log, onSessions, follow);
  await provider?.start((routes, errors) => {
    routeErrors = errors;
    live.apply(routes);
  });
  const ticketKeys = await worker?.start({
    apply: (routes) => live.apply(routes),
    update: (upsert, remove) => live.update(upsert, remove),
    sessions: onSessions,
    control: follow,
    stats: () => live.stats(),
    tcpPorts: () => tcpListeners.ports(),
    drain: (graceMs) => draining?.(graceMs) ?? Promise.resolve(),
  });
  await tcpListeners.settled();
  // Fed by control: per-route deltas (counts, bytes, latency histograms) go to its metrics
  // history; a worker's go through its supervisor's figures.
  const statsPusher = s.control && !worker
    ? new StatsPusher({ control: s.control, key: s.key!, stats: () => live.stats(), onError: (err, dropped) => log.warn({ err: err.message, dropped }, 'stats push to control failed') }).start()
    : undefined;

  const https = createHttpsEntrypoint(tls, s, router.handleRequest, router.handleUpgrade, log, router.handleH2WebSocket);
  const front = createSniRouter({
    https, live, hosts, tls, clientCa, log,
    connections: tcpConnections,
    connectTimeoutMs: s.upstreamConnectTimeoutMs,
    idleTimeoutMs: s.tcpIdleTimeoutMs,
    handshakeTimeoutMs: 10_000,
    caps: caps.clients,
  });
  // TLS session tickets sealed by one worker open on every other: a resumed session works
  // whichever worker the new connection lands on.
  if (ticketKeys) https.setTicketKeys(ticketKeys);
  const metrics = createGatewayMetrics(() => live.stats(), () => live.table.size);
  const admin = worker ? undefined : createAdminEntrypoint({
    table: () => liveAdminTable(live),
    metrics, routeErrors: () => routeErrors, tcpPorts: () => tcpListeners.ports(),
  });
  const servers: Server[] = [];
  const clients = new Set<Socket>();
  front.on('connection', (socket: Socket) => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
  });
  const shutdown = async () => {
    await statsPusher?.stop();
    provider?.close();
    keys?.close();
    auth.close();
    tunnel.close();
    live.close();
    tcpConnections.closeAll();
    await Promise.all([...servers.map(closeServer), closeServer(https), admin?.close(), tcpListeners.close()]);
    for (const target of controlTargets) pools.release(target);
    await pools.close();
  };
  const drain = drainer({ https, clients, tcpConnections, stopAccepting: () => Promise.all([...servers.map((srv) => srv.close()), tcpListeners.close()]), close: shutdown });
  draining = drain;
  try {
    const addresses: GatewayAddresses = { https: await listen(front, s.httpsPort, s.host), admin: '' };
    servers.push(front);
    // The HTTPS entrypoint gets its connections from the SNI router instead of listening;
    // Node starts its head and request timeout checks (slowloris) on 'listening'.
    https.emit('listening');
    const httpsPort = Number(addresses.https.slice(addresses.https.lastIndexOf(':') + 1));
    if (controlRoute && !controlRoute.publicUrl) controlRoute.publicUrl = `https://localhost:${httpsPort}/`;
    if (controlRoute && provider instanceof ControlProvider) provider.setPublicUrl(controlRoute.publicUrl);
    if (s.httpPort !== null) {
      const redirect = createHttpRedirect(httpsPort);
      addresses.http = await listen(redirect, s.httpPort, s.host);
      servers.push(redirect);
    }
    if (admin) {
      await admin.listen({ port: s.adminPort, host: s.adminHost });
      const a = admin.server.address() as AddressInfo;
      addresses.admin = `${a.address}:${a.port}`;
    }
    worker?.ready(addresses.https, addresses.http);
    return { addresses, live, tcpListeners, close: shutdown, drain };
  } catch (err) {
    await shutdown();
    throw err;
  }
}

/**
 * Control as a public route of the main host: Authorization and `wharf_console` pass through to
 * it. Each request carries the gateway key, so that control believes this gateway's
 * X-Forwarded-For (protocol/gateway-forwarding.ts); a client's own header of that name is dropped.
 */
function controlLiveRoute(controlUrl: string, key: string, pools: UpstreamPools): LiveHttpRoute {
  const target = new URL(controlUrl).origin;
  return {
    route: { id: 'control', kind: 'http', target, instance: 'control', public: true, status: 'active', headers: {} },
    record: new RouteRecord('control'),
    upstream: pools.acquire(target),
    headerNames: new Set([GATEWAY_KEY_HEADER]),
    headerList: [GATEWAY_KEY_HEADER, key],
  };
}

/** The live table as the admin port shows it. */
function liveAdminTable(live: LiveRoutes): AdminTable {
  const table = live.table;
  return {
    version: table.version,
    size: table.size,
    entries: () => [...table.values()].map((l) => ({ route: l.route, stats: l.record.stats })),
  };
}

interface DrainParts {
  https: HttpsEntrypoint;
  /** Every client connection of the HTTPS port, open now. */
  clients: Set<Socket>;
  tcpConnections: TcpConnections;
  stopAccepting(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The drain of a worker being replaced (SIGHUP) or a gateway stopping gently: it stops
 * accepting (the supervisor keeps the listening sockets, so nothing queued on them is lost),
 * then waits for its connections to end, closing each HTTP/1.1 connection after its next
 * response and sending GOAWAY on HTTP/2 (streams in flight finish). An idle keep-alive
 * connection is left alone until the grace ends: closing it could meet a request the client
 * is sending that moment. After `graceMs`, whatever is still open (WebSockets, TCP) is closed.
 */
function drainer(p: DrainParts): (graceMs: number) => Promise<void> {
  let draining: Promise<void> | undefined;
  return (graceMs) => (draining ??= (async () => {
    p.https.prependListener('request', (_req: unknown, res: { shouldKeepAlive?: boolean }) => {
      if ('shouldKeepAlive' in res) res.shouldKeepAlive = false;
    });
    p.https.goAway();
    await p.stopAccepting();
    const deadline = Date.now() + graceMs;
    while (p.clients.size + p.tcpConnections.total > 0 && Date.now() < deadline) await sleep(50);
    await p.close();
  })());
}

import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { CertStore } from '../certs/store.ts';
import { Authenticator } from './auth/authenticator.ts';
import { ControlLinks } from './auth/control-links.ts';
import { fileKeys, remoteKeys, type KeySource } from './auth/key-source.ts';
import { LocalLinks } from './auth/one-time-links.ts';
import { SessionCookies } from './auth/session-cookie.ts';
import { TokenVerifier } from './auth/token-verifier.ts';
import { createAdminEntrypoint } from './entrypoints/admin.ts';
import { createHttpRedirect } from './entrypoints/http-redirect.ts';
import { createHttpsEntrypoint } from './entrypoints/https-entrypoint.ts';
import { loadTlsMaterial } from './entrypoints/tls-material.ts';
import { createGatewayMetrics } from './metrics/prometheus.ts';
import { StatsPusher } from './metrics/stats-pusher.ts';
import { ControlProvider } from './providers/control-provider.ts';
import { FileProvider, type RouteErrors, type RouteProvider } from './providers/file-provider.ts';
import { UpstreamPools } from './proxy/upstream-pools.ts';
import { Router } from './router.ts';
import { LiveRoutes, RouteRecord, type LiveHttpRoute } from './routing/live-routes.ts';
import { HostMatcher } from './routing/route-table.ts';
import { GATEWAY_KEY_HEADER } from '../protocol/gateway-forwarding.ts';
import { sameSite } from '../protocol/site.ts';
import type { GatewaySettings } from './settings.ts';
import { createSniRouter } from './tcp/sni-router.ts';
import { TcpConnections } from './tcp/tcp-connections.ts';
import { TcpListeners } from './tcp/tcp-listeners.ts';
import { TunnelEndpoint } from './tcp/tunnel.ts';

export interface GatewayAddresses {
  https: string;
  http?: string;
  admin: string;
}

export interface Gateway {
  addresses: GatewayAddresses;
  live: LiveRoutes;
  tcpListeners: TcpListeners;
  close(): Promise<void>;
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

/** Starts the gateway: entrypoints, route provider, auth and metrics, wired together. */
export async function startGateway(s: GatewaySettings, log: Logger): Promise<Gateway> {
  if (s.tlsCert.length !== s.tlsKey.length) throw new Error('--tls-cert and --tls-key must be given the same number of times');
  if (s.headersTimeoutMs > s.requestTimeoutMs) throw new Error('--headers-timeout-ms must not exceed --request-timeout-ms');
  if (s.routes && s.control) throw new Error('--routes and WHARF_GATEWAY_CONTROL exclude each other: routes come from one source');
  if (s.control && s.pathRouting) {
    throw new Error('--path-routing cannot be used with WHARF_GATEWAY_CONTROL: under path routing every app shares the dashboard\'s origin, where nothing keeps one app\'s page from acting on another app or on control with a visitor\'s cookie. Give apps their own hosts with wildcard DNS for the apps domain (docs/security.md)');
  }
  if (s.control && !s.key) throw new Error('WHARF_GATEWAY_CONTROL is set but WHARF_GATEWAY_KEY is not: create a key with `wharf gateways add NAME`');
  const certStore = new CertStore(s.home);
  const certFiles = s.tlsCert.length
    ? s.tlsCert.map((cert, i) => ({ cert, key: s.tlsKey[i] }))
    : [certStore.gateway(s.appsDomain)];
  const tls = loadTlsMaterial(certFiles);
  const clientCa = s.clientCa ? readFileSync(s.clientCa, 'utf8') : certStore.authority().cert;

  const pools = new UpstreamPools({ connectTimeoutMs: s.upstreamConnectTimeoutMs, headersTimeoutMs: s.upstreamTimeoutMs, connections: s.upstreamConnections });
  const live = new LiveRoutes(pools);
  const tcpConnections = new TcpConnections(live, { maxConnections: s.tcpMaxConnections, maxConnectionsPerRoute: s.tcpMaxConnectionsPerRoute, closeGraceMs: s.tcpCloseGraceMs });
  const tcpListeners = new TcpListeners(live, tcpConnections, { host: s.host, portRange: s.tcpPorts, connectTimeoutMs: s.upstreamConnectTimeoutMs, idleTimeoutMs: s.tcpIdleTimeoutMs }, log);
  const tunnel = new TunnelEndpoint({ connections: tcpConnections, connectTimeoutMs: s.upstreamConnectTimeoutMs, idleTimeoutMs: s.tcpIdleTimeoutMs, log });
  let keys: KeySource | undefined;
  let tokens: TokenVerifier | undefined;
  // Fed by control, tokens are control's: its JWKS is the default.
  const jwks = s.jwks ?? (s.control ? new URL('/.well-known/jwks.json', s.control).href : undefined);
  if (jwks) {
    const onChange = () => tokens?.flush();
    keys = /^https?:\/\//.test(jwks) ? remoteKeys(jwks, s.jwksCooldownMs) : await fileKeys(jwks, log, onChange);
    tokens = new TokenVerifier(keys);
  } else {
    log.warn('no --jwks given: only public routes can be reached');
  }
  // Fed by control, app cookies are signed with control's one key (it comes on the route
  // stream) and one-time links are claimed at control, so that every gateway accepts the same
  // cookies and a link works once across gateways and restarts (docs/sessions.md). On a routes
  // file, a key and a used-links file of the gateway's own under WHARF_HOME.
  const controlCa = [...rootCertificates, certStore.authority().cert];
  const auth = new Authenticator({
    tokens,
    sessionTtlS: s.sessionTtlS,
    sessions: s.control ? new SessionCookies() : SessionCookies.fromKeyFile(join(s.home, 'gateway', 'session.key')),
    links: s.control
      ? new ControlLinks({ control: s.control, key: s.key!, ca: controlCa, log })
      : new LocalLinks(join(s.home, 'gateway', 'used-links')),
  });
  const publicHost = s.publicUrl ? new URL(s.publicUrl).hostname : 'localhost';
  if (sameSite(publicHost, s.appsDomain)) {
    log.warn({ publicHost, appsDomain: s.appsDomain }, 'the apps domain and the dashboard appear to be one site: an app page then counts as same-site to the dashboard; serve apps from a domain of their own (docs/security.md)');
  }
  const hosts = new HostMatcher(s.appsDomain, [publicHost, 'localhost', '127.0.0.1', '[::1]']);
  // Fed by control: the main host is control's (DESIGN.md "One front door"). Its public URL
  // (for sign-in redirects) defaults to https://localhost:<https port>/, known once listening.
  const controlRoute = s.control ? { route: controlLiveRoute(s.control, s.key!, pools), publicUrl: s.publicUrl ?? '' } : undefined;
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
  // The public URL is reported to control (which adopts the first one unless it has its own);
  // with --https-port 0 it is known only once listening: setPublicUrl below.
  const reportedUrl = s.publicUrl ?? (s.httpsPort ? `https://localhost:${s.httpsPort}/` : undefined);
  const provider: RouteProvider | undefined = s.control
    ? new ControlProvider({
      controlUrl: s.control, key: s.key!, log, ca: controlCa, publicUrl: reportedUrl,
      onSessions: (state) => {
        const { keyChanged, closed } = auth.applySessions(state);
        log.info({ revocations: state.revoked.length, keyChanged, closed }, 'app sessions from control');
      },
    })
    : s.routes ? new FileProvider(s.routes, log) : undefined;
  await provider?.start((routes, errors) => {
    routeErrors = errors;
    live.apply(routes);
  });
  await tcpListeners.settled();
  // Fed by control: per-route deltas (counts, bytes, latency histograms) go to its metrics history.
  const statsPusher = s.control
    ? new StatsPusher({ control: s.control, key: s.key!, stats: () => live.stats(), onError: (err, dropped) => log.warn({ err: err.message, dropped }, 'stats push to control failed') }).start()
    : undefined;

  const https = createHttpsEntrypoint(tls, s, router.handleRequest, router.handleUpgrade, log);
  const front = createSniRouter({
    https, live, hosts, tls, clientCa, log,
    connections: tcpConnections,
    connectTimeoutMs: s.upstreamConnectTimeoutMs,
    idleTimeoutMs: s.tcpIdleTimeoutMs,
    handshakeTimeoutMs: 10_000,
    maxConnections: s.maxConnections,
    maxConnectionsPerIp: s.maxConnectionsPerIp,
  });
  const metrics = createGatewayMetrics(() => live.stats(), () => live.table.size);
  const admin = createAdminEntrypoint({ live, metrics, routeErrors: () => routeErrors, tcpPorts: () => tcpListeners.ports() });
  const servers: Server[] = [];
  const shutdown = async () => {
    await statsPusher?.stop();
    provider?.close();
    keys?.close();
    auth.close();
    tunnel.close();
    live.close();
    tcpConnections.closeAll();
    await Promise.all([...servers.map(closeServer), closeServer(https), admin.close(), tcpListeners.close()]);
    if (controlRoute) pools.release(controlRoute.route.route.target);
    await pools.close();
  };
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
    await admin.listen({ port: s.adminPort, host: s.adminHost });
    const a = admin.server.address() as AddressInfo;
    addresses.admin = `${a.address}:${a.port}`;
    return { addresses, live, tcpListeners, close: shutdown };
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

import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import { ROUTE_STREAM_PATH } from '../protocol/route-stream.ts';
import { GATEWAY_KEY_HEADER } from '../protocol/gateway-forwarding.ts';
import { LINK_CLAIM_PATH } from '../protocol/token.ts';
import { AgentSweeper } from './agents/sweeper.ts';
import { restoreRoutes } from './agents/endpoint-routes.ts';
import { AGENT_PREFIX, agentRoutes, type AgentApiOptions } from './api/agents.ts';
import { ApiAuth } from './api/auth.ts';
import { PasswordCheck } from './api/password-check.ts';
import { signinRoutes } from './api/signin.ts';
import { DEFAULT_DIST_DIR, dashboardRoutes } from './api/dashboard.ts';
import { singleSignOn } from './sso/single-sign-on.ts';
import { UsageError } from '../protocol/settings.ts';
import { ssoConfig, type SsoConfig } from './sso/sso-config.ts';
import { ConsoleSessions } from './keys/console-sessions.ts';
import { AppSessions } from './keys/app-sessions.ts';
import { consoleRoutes } from './api/console.ts';
import { GATEWAY_STATS_PATH, metricsRoutes } from './api/metrics.ts';
import { IdleMonitor } from './idle/idle-monitor.ts';
import { ConsoleFeed } from './console/console-feed.ts';
import { MetricsHistory } from './metrics/history.ts';
import { installErrorHandling } from './api/errors.ts';
import { ControlError } from './errors.ts';
import { gatewayRoutes } from './api/gateways.ts';
import { hstsHeader } from './api/hsts.ts';
import { configRoutes } from './api/configs.ts';
import { instanceRoutes } from './api/instances.ts';
import { DEFAULT_APP_HOSTS, type AppHosts } from './keys/gateway-tokens.ts';
import { LiveAppHosts } from './public-url.ts';
import { startSnapshotRetention } from './snapshots/retention-runner.ts';
import { tokenRoutes } from './api/tokens.ts';
import { keyRoutes } from './api/keys.ts';
import { startKeyRotation } from './keys/rotation.ts';
import { userRoutes } from './api/users.ts';
import { snapshotRoutes } from './api/snapshots.ts';
import { snapshotRequestRoutes } from './api/snapshot-requests.ts';
import { BlobStore } from './snapshots/blob-store.ts';
import { firstStart } from './first-start.ts';
import { JobSignal } from './agents/job-signal.ts';
import { followOtherControls, ObservationOutbox, reloadSessions } from './follow-other-controls.ts';
import { NO_FEED } from './store/change-feed.ts';
import { sharedKey } from './keys/shared-key.ts';
import { SigningKeys } from './keys/signing-keys.ts';
import { caRoutes } from './api/ca.ts';
import { auditRoutes } from './api/audit.ts';
import { shareRoutes } from './api/shares.ts';
import { projectRoutes } from './api/projects.ts';
import { DEFAULT_AUDIT_RETENTION_MS } from './audit/audit-log.ts';
import { ControlMetrics } from './metrics/control-metrics.ts';
import { RouteLog } from './routes/route-log.ts';
import { SharedRouteLog } from './routes/shared-route-log.ts';
import { createRouteStreamHandler, type RouteStreamHandler } from './routes/route-stream-handler.ts';
import type { SigninThrottleOptions } from './api/signin-throttle.ts';
import type { ScryptCost } from './store/passwords.ts';
import { describeStore, openStore } from './store/location.ts';
import type { Clock, Store } from './store/store.ts';
import { checkControlSettings, type ControlSettings } from './settings.ts';
import { controlTls, isLoopback } from './tls.ts';

/** What the HTTP app is built from: created by `startControl`, or by tests around a temp store. */
export interface ControlParts {
  store: Store;
  keys: SigningKeys;
  routes: RouteLog;
  log: Logger;
  clock: Clock;
  /** Lease timeout and TCP port range of the agent API (defaults: 30 s, 20000-20999). */
  agents?: AgentApiOptions;
  /**
   * Where apps are reached (links, gateway tokens, sign-in redirects, the Origin check), read at
   * each use; DEFAULT_APP_HOSTS when left out. A LiveAppHosts also takes the public URL that
   * gateways report on the route stream.
   */
  hosts?: AppHosts;
  /** Dashboard sign-in cookies; a random key (sign-ins lost on restart) when left out. */
  consoleSessions?: ConsoleSessions;
  /**
   * App sessions handed to gateways on the route stream: the app cookie key and the
   * revocations (docs/sessions.md); a random key over `store` when left out.
   */
  appSessions?: AppSessions;
  /** The snapshot blob store and its upload limit; without it the snapshot endpoints are absent. */
  snapshots?: { blobs: BlobStore; maxBytes: number };
  /** The metrics history (a new one, default retention, when left out). */
  history?: MetricsHistory;
  /** The local CA certificate served at /api/v1/ca.pem (WHARF_HOME/certs/ca.pem); none when left out. */
  caFile?: string;
  /**
   * Idle detection (WHARF_IDLE_WINDOW_S, WHARF_IDLE_WARNING_S): the monitor ticks every `tickMs`
   * (default 1 s; 0: never, tests call `idle.tick()`). Left out: the monitor is fed but never
   * ticks on its own, so that in-process tests moving a manual clock see no idle stops.
   */
  idle?: { windowMs: number; warningMs: number; tickMs?: number };
  /** Sign-in throttling (--signin-failures, --signin-delay-ms); the defaults when left out. */
  signin?: Partial<SigninThrottleOptions>;
  /** Serve HTTPS with this certificate and key (control/tls.ts); plain HTTP when left out. */
  tls?: { cert: string; key: string };
  /** How long audit entries are kept (--audit-retention; DEFAULT_AUDIT_RETENTION_MS when left out). */
  auditRetentionMs?: number;
  /** Single sign-on (WHARF_OIDC_*) and the key every control shares for its sealed values; none when left out. */
  sso?: { config: SsoConfig; key: Buffer };
  /** Password sign-in (WHARF_LOCAL_PASSWORDS): off leaves only the break-glass admin; on when left out. */
  localPasswords?: boolean;
}

export interface ControlApp {
  app: FastifyInstance;
  stream: RouteStreamHandler;
  metrics: ControlMetrics;
  history: MetricsHistory;
  consoleFeed: ConsoleFeed;
  idle: IdleMonitor;
  appSessions: AppSessions;
  /** Every endpoint as `METHOD /path` (HEAD left out): what the authorization tests go through. */
  endpoints: string[];
}

const COMPACT_EVERY_MS = 60_000; // metrics history compaction
const SWEEP_EXPIRED_EVERY_MS = 60_000; // used one-time links, sign-outs, sign-in failures and audit entries past their time

/** API endpoints that check credentials themselves (login takes a password; logout works signed out). */
const SIGNIN_OPEN = new Set(['/api/v1/auth/login', '/api/v1/auth/logout']);

const BODY_LIMIT_BYTES = 1024 * 1024; // 1 MiB: configs and small JSON, never blobs

/** The fastify app with every endpoint, not listening: `inject` works on it as is. */
export function buildControlApp(parts: ControlParts): ControlApp {
  const { store, keys, routes, log, clock } = parts;
  // fastify's own logger off: our pino logs what matters (errors), with our field names.
  const tls = parts.tls;
  // An https.Server is an http.Server to fastify's handlers; fastify's typed `https` option would
  // give the app other types for a choice made at start.
  const serverFactory: FastifyServerFactory | undefined = tls
    ? (handler) => createHttpsServer({ cert: tls.cert, key: tls.key }, handler) as unknown as HttpServer
    : undefined;
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, forceCloseConnections: true, serverFactory });
  const hosts = parts.hosts ?? DEFAULT_APP_HOSTS;
  const sessions = parts.consoleSessions ?? ConsoleSessions.ephemeral(clock);
  const appSessions = parts.appSessions ?? new AppSessions(store, randomBytes(32));
  // Revocations are read before the first request; the dashboard sessions they ended stay ended.
  app.addHook('onReady', () => reloadSessions(store, appSessions, sessions, clock()));
  const sso = parts.sso && singleSignOn({ ...parts.sso, store, appSessions, consoleSessions: sessions, hosts, clock, log, distDir: DEFAULT_DIST_DIR });
  // The origin is read per request: the public URL may be set after start (LiveAppHosts).
  const auth = new ApiAuth(store, { sessions, get origin() { return new URL(hosts.publicUrl).origin; }, sso: sso?.sessions });
  const metrics = new ControlMetrics();
  const history = parts.history ?? new MetricsHistory(store.metrics);
  const consoleFeed = new ConsoleFeed();
  // Compaction deletes and seals in the shared store: one control at a time does it.
  const compactTimer = setInterval(() => {
    void (async () => {
      if (await store.locks.hold('metrics-compaction')) await history.compact(clock());
    })().catch((err: unknown) => log.warn({ err }, 'metrics history compaction failed'));
  }, COMPACT_EVERY_MS);
  compactTimer.unref();
  app.addHook('onClose', async () => clearInterval(compactTimer));
  // Several controls on one database: all observe everything, the one holding the lock acts.
  const outbox = store.changes === NO_FEED ? undefined : new ObservationOutbox(store.changes, log);
  app.addHook('onClose', async () => outbox?.stop());
  const idle = new IdleMonitor({
    store, clock, log, console: consoleFeed, windowMs: parts.idle?.windowMs, warningMs: parts.idle?.warningMs,
    lead: () => store.locks.hold('idle-monitor'), onObserve: outbox && ((o) => outbox.push(o)),
  });
  if (parts.idle && parts.idle.tickMs !== 0) idle.start(parts.idle.tickMs);
  // Agents' waiting leases wake when a job is queued, here or through another control.
  const jobs = new JobSignal(store.changes, log);
  // Other controls on the same database: their route, session, job and idle news reach this one.
  const stopFollowing = followOtherControls({ store, routes, appSessions, consoleSessions: sessions, idle, jobs, log });
  app.addHook('onClose', async () => stopFollowing());
  app.addHook('onClose', () => idle.stop());
  const stream = createRouteStreamHandler({
    routes,
    log,
    onPublicUrl: hosts instanceof LiveAppHosts ? (url) => hosts.report(url) : undefined,
    sessions: appSessions,
    catchUp: routes instanceof SharedRouteLog ? () => routes.catchUp() : undefined,
    authorize: async (req) => {
      const m = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      return Boolean(m && (await store.gateways.verify(m[1])));
    },
  });

  installErrorHandling(app, log);
  const endpoints: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') endpoints.push(`${method} ${route.url}`);
  });
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/') && request.routeOptions.url !== ROUTE_STREAM_PATH && request.routeOptions.url !== GATEWAY_STATS_PATH && request.routeOptions.url !== LINK_CLAIM_PATH && !request.url.startsWith(AGENT_PREFIX) && !SIGNIN_OPEN.has(request.routeOptions.url ?? '')) await auth.authenticate(request);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.countRequest(request.routeOptions.url ?? 'unmatched', reply.statusCode);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (request, reply) => {
    // For whoever scrapes control's own address, not for the internet: what a gateway
    // forwards from its main host (it carries the gateway's key header) is not served.
    if (request.headers[GATEWAY_KEY_HEADER] !== undefined) throw new ControlError('CTL_NOT_FOUND', 'no /metrics here: scrape control\'s own address');
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Gateways refetch on an unknown kid; a short cache spares them nothing else.
    reply.header('cache-control', 'max-age=60');
    await keys.refreshSoon(); // the key another control rotated to
    return keys.jwks(clock());
  });

  const notBefore = (sub: string) => appSessions.notBefore(sub);
  // One throttle for every password typed: the sign-in and the current one of a change.
  const passwords = new PasswordCheck({ store, clock, metrics, throttle: parts.signin });
  // What is kept only until it expires: used one-time links, sign-outs, old sign-in failures, old audit entries.
  const sweep = setInterval(() => {
    const failed = (what: string) => (err: unknown) => log.error({ err }, `sweeping ${what} failed`);
    store.usedLinks.sweep(clock()).catch(failed('used one-time links'));
    store.signOuts.sweep(clock()).catch(failed('sign-outs'));
    passwords.sweep().catch(failed('sign-in failures'));
    store.sso.sweep(clock()).catch(failed('single sign-on sessions'));
    store.audit.sweep(clock() - (parts.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS)).catch(failed('audit entries past their retention'));
  }, SWEEP_EXPIRED_EVERY_MS);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
  userRoutes(app, { store, auth, clock, sessions: appSessions, passwords });
  tokenRoutes(app, store, auth);
  auditRoutes(app, store, auth);
  shareRoutes(app, { store, auth, clock, sessions: appSessions });
  projectRoutes(app, { store, auth, clock, sessions: appSessions });
  gatewayRoutes(app, store, auth, stream, clock);
  agentRoutes(app, store, auth, routes, clock, parts.agents, { console: consoleFeed, history, idle, jobs });
  consoleRoutes(app, { store, auth, feed: consoleFeed, log });
  metricsRoutes(app, { store, auth, routes, history, clock, idle });
  configRoutes(app, store, auth);
  instanceRoutes(app, { store, auth, keys, clock, hosts, log, notBefore, console: consoleFeed, history, routes, blobs: parts.snapshots?.blobs, jobs });
  signinRoutes(app, { store, auth, keys, clock, hosts, notBefore, passwords, sso, localPasswords: parts.localPasswords });
  sso?.routes(app);
  dashboardRoutes(app, { auth });
  keyRoutes(app, store, keys, auth, clock);
  caRoutes(app, auth, parts.caFile);
  if (parts.snapshots) snapshotRoutes(app, { store, auth, clock, ...parts.snapshots });
  snapshotRequestRoutes(app, { store, auth });
  return { app, stream, metrics, history, consoleFeed, idle, appSessions, endpoints };
}

export interface Control extends ControlApp {
  store: Store;
  keys: SigningKeys;
  routes: RouteLog;
  /** `host:port` as bound. */
  listen: string;
  /** `http(s)://host:port` of the API (a wildcard address as loopback). */
  url: string;
  /** The local CA file that issued the API's certificate (--tls auto/on without --tls-cert), for clients to trust. */
  tlsCaFile?: string;
  /** The public URL as it stands, and where it came from (setting, composer, gateway, default). */
  hosts: LiveAppHosts;
  /**
   * For an in-process composer (`wharf up`): the public URL is its gateway's bound HTTPS
   * address. WHARF_PUBLIC_URL wins over it (false is returned); not https: throws.
   */
  setPublicUrl(url: string): boolean;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Tests lower it; production keeps the default. */
  scryptCost?: ScryptCost;
  /** How often leases and silent agents are swept (default 5 s). */
  sweepIntervalMs?: number;
  /** How often the snapshot retention policy runs (default hourly, and once at start). */
  retentionIntervalMs?: number;
}

/**
 * Runs control: the store (--store, SQLite at WHARF_HOME/wharf.db by default), signing keys under WHARF_HOME/keys,
 * the route log, first-start credentials, then the API on `settings.listen`.
 */
export async function startControl(settings: ControlSettings, log: Logger, options: StartOptions = {}): Promise<Control> {
  checkControlSettings(settings);
  const sso = ssoConfig(settings);
  if (!settings.localPasswords && !sso) throw new UsageError('--local-passwords off (WHARF_LOCAL_PASSWORDS) needs single sign-on: set --oidc-issuer (docs/sso.md)');
  const tls = controlTls(settings);
  if (!tls && !isLoopback(settings.listen.host)) {
    log.warn({ listen: settings.listen }, 'control serves plain HTTP beyond loopback (--tls off): tokens and keys cross that network in clear; keep it on a private one');
  }
  const clock = options.clock ?? Date.now;
  const store = await openStore(settings.store, { home: settings.home, clock, scryptCost: options.scryptCost, log });
  log.info({ store: describeStore(settings.store, settings.home) }, 'store open');
  try {
    await firstStart(store, settings.home, log);
    // Keys live in the store, shared by every control; an older install's key files are imported once.
    const keys = await SigningKeys.open(store.signingKeys, clock(), { importFrom: join(settings.home, 'keys') });
    for (const p of keys.problems) log.warn({ file: p.file }, `signing key skipped: ${p.message}`);
    // Several controls on one database serve one route table, numbered in the store, so that a
    // gateway resumes on any of them; one control alone keeps its own (rebuilt at start).
    const routes = store.changes === NO_FEED ? new RouteLog() : await SharedRouteLog.open(store.routeTable, store.changes, log);
    if (!(routes instanceof SharedRouteLog)) await restoreRoutes(store, routes);
    const blobs = new BlobStore(join(settings.home, 'snapshots'));
    blobs.sweepTemp();
    const hosts = new LiveAppHosts({ appsDomain: settings.appsDomain, publicUrl: settings.publicUrl, log });
    const history = new MetricsHistory(store.metrics, { rawRetentionMs: settings.metricsRawRetentionMs, coarseRetentionMs: settings.metricsRetentionMs });
    const built = buildControlApp({
      store, keys, routes, log, clock, hosts, history,
      agents: { leaseMs: settings.leaseTimeoutS * 1000, tcpPorts: settings.tcpPorts },
      // Cookie keys from the store: a dashboard sign-in on one control holds on every other.
      consoleSessions: new ConsoleSessions(await sharedKey(store.sharedKeys, 'console-session', join(settings.home, 'keys', 'console-session.key')), clock),
      // One key for every gateway's app cookies, so that each accepts the others' (never logged).
      appSessions: new AppSessions(store, await sharedKey(store.sharedKeys, 'app-session', join(settings.home, 'keys', 'app-session.key'))),
      snapshots: { blobs, maxBytes: settings.snapshotMaxBytes },
      caFile: join(settings.home, 'certs', 'ca.pem'),
      idle: { windowMs: settings.idleWindowS * 1000, warningMs: settings.idleWarningS * 1000 },
      signin: { refuseAfter: settings.signinFailures, delayMs: settings.signinDelayMs },
      tls,
      auditRetentionMs: settings.auditRetentionMs,
      sso: sso && { config: sso, key: await sharedKey(store.sharedKeys, 'sso') },
      localPasswords: settings.localPasswords,
    });
    const sweepIntervalMs = options.sweepIntervalMs ?? 5_000;
    const sweeper = new AgentSweeper({
      store, routes, clock, graceMs: settings.agentGraceS * 1000, log, console: built.consoleFeed,
      // Three passes missed (a paused process, a store that was away): agents get a fresh grace.
      outageMs: Math.max(3 * sweepIntervalMs, 15_000),
      lead: () => store.locks.hold('agent-sweep'),
    });
    sweeper.start(sweepIntervalMs);
    built.app.addHook('onClose', () => sweeper.stop());
    // Rotate the signing key when it is older than --key-rotation-days; prune retired keys (hourly).
    const stopRotation = startKeyRotation(keys, clock, settings.keyRotationDays * 86_400_000, log);
    built.app.addHook('onClose', async () => stopRotation());
    // Snapshots of stopped instances: the last --snapshot-keep per lineage, none older than --snapshot-max-age.
    const retention = startSnapshotRetention({
      store, blobs, clock, log, policy: { keepLast: settings.snapshotKeep, maxAgeMs: settings.snapshotMaxAgeMs }, intervalMs: options.retentionIntervalMs,
      lead: () => store.locks.hold('snapshot-retention'),
    });
    built.app.addHook('onClose', () => retention.stop());
    hstsHeader(built.app, { hosts, includeSubDomains: settings.hstsIncludeSubdomains }); // Strict-Transport-Security on the main host
    await built.app.listen({ host: settings.listen.host, port: settings.listen.port });
    const address = built.app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const listen = `${host}:${address.port}`;
    const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
    let closing: Promise<void> | undefined;
    return {
      ...built, store, keys, routes, listen, url: `${tls ? 'https' : 'http'}://${reachable}:${address.port}`, hosts, tlsCaFile: tls?.caFile,
      setPublicUrl: (url) => hosts.set(url),
      close() {
        // Streams first (they would hold the server open), then the server, then the store.
        closing ??= (async () => {
          built.stream.close();
          await built.app.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

import { parsers, UsageError, type Setting, type Values } from '../protocol/settings.ts';
import { DEFAULT_AUDIT_RETENTION_MS } from './audit/audit-log.ts';
import { DEFAULT_COARSE_RETENTION_MS, DEFAULT_RAW_RETENTION_MS } from './metrics/history.ts';
import { parseStoreLocation, type StoreLocation } from './store/location.ts';
import { parseTlsMode, type TlsMode } from './tls.ts';

const opt = <T>(s: Setting<T>): Setting<T> => s;

/** `HOST:PORT` (IPv6 as `[::1]:PORT`); port 0 binds any free port. */
export function parseListen(raw: string): { host: string; port: number } {
  const colon = raw.lastIndexOf(':');
  const host = colon > 0 ? raw.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : '';
  if (!host) throw new Error(`must be HOST:PORT such as 127.0.0.1:7400, got "${raw}"`);
  return { host, port: parsers.port(raw.slice(colon + 1)) };
}

/** A duration (`30d`, `12h`), or `off` for no limit (Infinity). */
export function parseMaxAge(raw: string): number {
  if (/^(off|never|none)$/i.test(raw.trim())) return Infinity;
  try {
    return parsers.duration(raw);
  } catch {
    throw new Error(`must be a duration such as 30d or 12h, or off (no age limit), got "${raw}"`);
  }
}

export const DEFAULT_SNAPSHOT_KEEP = 5;
export const DEFAULT_SNAPSHOT_MAX_AGE_MS = 30 * 86_400_000; // 30 days

/** Control's boot settings (static configuration): flags, env vars and defaults. */
export const controlSettings = {
  listen: opt({ flag: 'listen', env: 'WHARF_CONTROL_LISTEN', default: { host: '127.0.0.1', port: 7400 }, shownDefault: '127.0.0.1:7400', parse: parseListen, help: 'address of the API (HOST:PORT, port 0: any free port)' }),
  tls: opt<TlsMode>({ flag: 'tls', env: 'WHARF_CONTROL_TLS', default: 'auto', parse: parseTlsMode, help: 'HTTPS on the API: auto (from the local CA when --listen is beyond loopback, plain HTTP on loopback), on, or off (a private network only; see docs/control.md)' }),
  tlsCert: opt<string | undefined>({ flag: 'tls-cert', env: 'WHARF_CONTROL_TLS_CERT', default: undefined, parse: parsers.string, help: 'certificate file (PEM, with its chain) the API serves instead of one from the local CA' }),
  tlsKey: opt<string | undefined>({ flag: 'tls-key', env: 'WHARF_CONTROL_TLS_KEY', default: undefined, parse: parsers.string, help: 'private key file of --tls-cert' }),
  store: opt<StoreLocation | undefined>({ flag: 'store', env: 'WHARF_STORE', default: undefined, shownDefault: 'sqlite: (WHARF_HOME/wharf.db)', parse: parseStoreLocation, help: 'where control keeps its state: sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/DATABASE (docs/store.md)' }),
  publicUrl: opt<string | undefined>({ flag: 'public-url', env: 'WHARF_PUBLIC_URL', default: undefined, parse: parsers.string, help: 'the main host users open (default: what the gateway reports)' }),
  appsDomain: opt({ flag: 'apps-domain', env: 'WHARF_APPS_DOMAIN', default: 'apps.localhost', parse: parsers.string, help: 'apps live on <id>.<apps-domain>' }),
  hstsIncludeSubdomains: opt({ flag: 'hsts-include-subdomains', env: 'WHARF_HSTS_INCLUDE_SUBDOMAINS', default: false, boolean: true, parse: parsers.bool, help: 'add includeSubDomains to the Strict-Transport-Security header of the main host (every subdomain must then serve HTTPS; see docs/tls.md)' }),
  leaseTimeoutS: opt({ flag: 'lease-timeout', env: 'WHARF_LEASE_TIMEOUT_S', default: 30, parse: parsers.positive, help: 'seconds a leased launch job waits for its agent\'s heartbeat before it is queued again (below the agent grace)' }),
  agentGraceS: opt({ flag: 'agent-grace', env: 'WHARF_AGENT_GRACE_S', default: 60, parse: parsers.positive, help: 'seconds of silence before an agent\'s instances show "agent offline"; as many again and they fail' }),
  tcpPorts: opt<[number, number]>({ flag: 'tcp-ports', env: 'WHARF_CONTROL_TCP_PORTS', default: [20000, 20999], parse: parsers.range, help: 'the range control pins gateway ports of TCP routes from (LOW-HIGH)' }),
  snapshotMaxBytes: opt({ flag: 'snapshot-max-bytes', env: 'WHARF_SNAPSHOT_MAX_BYTES', default: 10 * 1024 ** 3, shownDefault: '10737418240 (10 GiB)', parse: parsers.positive, help: 'largest snapshot upload control stores, in bytes' }),
  keyRotationDays: opt({ flag: 'key-rotation-days', env: 'WHARF_KEY_ROTATION_DAYS', default: 30, parse: parsers.positive, help: 'days before control rotates its token signing key (retired keys stay published until their tokens expire)' }),
  metricsRawRetentionMs: opt({ flag: 'metrics-raw-retention', env: 'WHARF_METRICS_RAW_RETENTION', default: DEFAULT_RAW_RETENTION_MS, shownDefault: '24h', parse: parsers.duration, help: 'how long the metrics history keeps 10 s points (a duration: 90m, 24h, 2d), at most --metrics-retention' }),
  metricsRetentionMs: opt({ flag: 'metrics-retention', env: 'WHARF_METRICS_RETENTION', default: DEFAULT_COARSE_RETENTION_MS, shownDefault: '7d', parse: parsers.duration, help: 'how long the metrics history keeps 1 min points (a duration: 7d, 30d)' }),
  auditRetentionMs: opt({ flag: 'audit-retention', env: 'WHARF_AUDIT_RETENTION', default: DEFAULT_AUDIT_RETENTION_MS, shownDefault: '180d', parse: parsers.duration, help: 'how long the audit log keeps its entries (a duration: 90d, 365d)' }),
  snapshotKeep: opt({ flag: 'snapshot-keep', env: 'WHARF_SNAPSHOT_KEEP', default: DEFAULT_SNAPSHOT_KEEP, parse: parsers.positive, help: 'snapshots kept per lineage (an instance and those restored from it) once their instances stopped' }),
  snapshotMaxAgeMs: opt({ flag: 'snapshot-max-age', env: 'WHARF_SNAPSHOT_MAX_AGE', default: DEFAULT_SNAPSHOT_MAX_AGE_MS, shownDefault: '30d', parse: parseMaxAge, help: 'older snapshots of stopped instances are deleted, except each lineage\'s newest (a duration, or off)' }),
  idleWindowS: opt({ flag: 'idle-window', env: 'WHARF_IDLE_WINDOW_S', default: 60, parse: parsers.positive, help: 'seconds every signal must stay under its idle threshold before an instance is idle (and a busy spell must last, to end an idle period)' }),
  idleWarningS: opt({ flag: 'idle-warning', env: 'WHARF_IDLE_WARNING_S', default: 600, parse: parsers.whole, help: 'seconds ahead of the idle limit at which the warning goes to the console and the instance view' }),
  signinFailures: opt({ flag: 'signin-failures', env: 'WHARF_SIGNIN_FAILURES', default: 10, parse: parsers.positive, help: 'failed sign-ins from one client address before control refuses it for a minute, then longer (429 with Retry-After)' }),
  signinDelayMs: opt({ flag: 'signin-delay-ms', env: 'WHARF_SIGNIN_DELAY_MS', default: 250, parse: parsers.whole, help: 'milliseconds a sign-in waits after the third failure from its address or for its user name, doubling with each further one up to 5 s (0: no wait)' }),
  oidcIssuer: opt<string | undefined>({ flag: 'oidc-issuer', env: 'WHARF_OIDC_ISSUER', default: undefined, parse: parsers.string, help: 'single sign-on: the OpenID Connect identity provider\'s issuer URL (https:; docs/sso.md)' }),
  oidcClientId: opt<string | undefined>({ flag: 'oidc-client-id', env: 'WHARF_OIDC_CLIENT_ID', default: undefined, parse: parsers.string, help: 'the client id Wharf has at the identity provider (redirect URI: <public URL>/auth/oidc/callback)' }),
  oidcClientSecret: opt<string | undefined>({ flag: 'oidc-client-secret', env: 'WHARF_OIDC_CLIENT_SECRET', default: undefined, parse: parsers.string, help: 'its client secret (prefer --oidc-client-secret-file: an environment can be read by others)' }),
  oidcClientSecretFile: opt<string | undefined>({ flag: 'oidc-client-secret-file', env: 'WHARF_OIDC_CLIENT_SECRET_FILE', default: undefined, parse: parsers.string, help: 'a file holding the client secret' }),
  oidcName: opt<string | undefined>({ flag: 'oidc-name', env: 'WHARF_OIDC_NAME', default: undefined, shownDefault: 'the issuer\'s host name', parse: parsers.string, help: 'the identity provider\'s name on the sign-in page ("Sign in with NAME")' }),
  oidcScopes: opt({ flag: 'oidc-scopes', env: 'WHARF_OIDC_SCOPES', default: 'openid profile email', parse: parsers.string, help: 'the scopes Wharf asks for (add the one that carries groups, if your IdP needs one)' }),
  oidcGroupsClaim: opt({ flag: 'oidc-groups-claim', env: 'WHARF_OIDC_GROUPS_CLAIM', default: 'groups', parse: parsers.string, help: 'the claim that lists a user\'s groups' }),
  oidcAdminGroups: opt({ flag: 'oidc-admin-groups', env: 'WHARF_OIDC_ADMIN_GROUPS', default: '', shownDefault: 'none (admins are made with wharf users admin)', parse: parsers.string, help: 'groups whose members are admins (comma-separated); set, a user leaving them stops being one at the next refresh' }),
  oidcProjectGroups: opt({ flag: 'oidc-project-groups', env: 'WHARF_OIDC_PROJECT_GROUPS', default: '', shownDefault: 'none', parse: parsers.string, help: 'project memberships from groups: GROUP=PROJECT:ROLE, comma-separated (e.g. ml-team=ml:user); those projects\' SSO members come from the IdP only' }),
  localPasswords: opt({ flag: 'local-passwords', env: 'WHARF_LOCAL_PASSWORDS', default: true, shownDefault: 'on', parse: parsers.bool, help: 'password sign-in to the dashboard; off leaves it to the break-glass admin account only (docs/sso.md)' }),
  logLevel: opt({ flag: 'log-level', env: 'WHARF_LOG_LEVEL', default: 'info', parse: parsers.string, help: 'fatal, error, warn, info, debug' }),
};

export type ControlSettings = Values<typeof controlSettings> & { home: string };

/** Checks that span several settings; throws a UsageError naming the flags. */
export function checkControlSettings(s: Pick<ControlSettings, 'metricsRawRetentionMs' | 'metricsRetentionMs'>): void {
  if (s.metricsRawRetentionMs > s.metricsRetentionMs) {
    throw new UsageError(`--metrics-raw-retention (WHARF_METRICS_RAW_RETENTION, ${formatDuration(s.metricsRawRetentionMs)}) must not be longer than --metrics-retention (WHARF_METRICS_RETENTION, ${formatDuration(s.metricsRetentionMs)})`);
  }
}

/** `36h`, `7d`, `90s`: the largest unit that divides the duration. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

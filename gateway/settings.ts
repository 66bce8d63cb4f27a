import { parseControlUrls } from '../protocol/control-urls.ts';
import { availableParallelism } from 'node:os';
import { parsers, type Setting, type Values } from '../protocol/settings.ts';

const opt = <T>(s: Setting<T>): Setting<T> => s;

/** The gateway's boot settings (static configuration): flags, env vars and defaults. */
export const gatewaySettings = {
  host: opt({ flag: 'host', env: 'WHARF_GATEWAY_HOST', default: '127.0.0.1', parse: parsers.string, help: 'address the HTTPS, HTTP and TCP entrypoints bind (0.0.0.0: every interface)' }),
  httpsPort: opt({ flag: 'https-port', env: 'WHARF_GATEWAY_HTTPS_PORT', default: 8443, parse: parsers.port, help: 'HTTPS entrypoint port' }),
  httpPort: opt<number | null>({ flag: 'http-port', env: 'WHARF_GATEWAY_HTTP_PORT', default: null, parse: parsers.port, help: 'plain-HTTP port that redirects to HTTPS (off unless set)' }),
  adminHost: opt({ flag: 'admin-host', env: 'WHARF_GATEWAY_ADMIN_HOST', default: '127.0.0.1', parse: parsers.string, help: 'address of the admin port (/metrics, /healthz, /routes)' }),
  adminPort: opt({ flag: 'admin-port', env: 'WHARF_GATEWAY_ADMIN_PORT', default: 9401, parse: parsers.port, help: 'admin port' }),
  tcpPorts: opt<[number, number]>({ flag: 'tcp-ports', env: 'WHARF_GATEWAY_TCP_PORTS', default: [20000, 20999], parse: parsers.range, help: 'range for TCP routes that name no port' }),
  appsDomain: opt({ flag: 'apps-domain', env: 'WHARF_APPS_DOMAIN', default: 'apps.localhost', parse: parsers.string, help: 'apps live on <route>.<apps-domain>' }),
  publicUrl: opt<string | undefined>({ flag: 'public-url', env: 'WHARF_PUBLIC_URL', default: undefined, parse: parsers.string, help: 'the main host users open (default https://localhost:<https-port>/)' }),
  pathRouting: opt({ flag: 'path-routing', env: 'WHARF_PATH_ROUTING', default: false, boolean: true, parse: parsers.bool, help: 'also serve apps at /app/<route>/ on the main host (apps then share one origin)' }),
  control: opt<string | undefined>({ flag: 'control', env: 'WHARF_GATEWAY_CONTROL', default: undefined, parse: (raw) => parseControlUrls(raw).join(','), help: 'control URL whose route stream feeds this gateway (instead of --routes); several controls on one database: their URLs, comma-separated, the next followed when one goes away' }),
  key: opt<string | undefined>({ flag: 'key', env: 'WHARF_GATEWAY_KEY', default: undefined, parse: parsers.string, help: 'gateway key from `wharf gateways add` (prefer the env var: flags show in ps)' }),
  routes: opt<string | undefined>({ flag: 'routes', env: 'WHARF_GATEWAY_ROUTES', default: undefined, parse: parsers.string, help: 'routes file {"routes": [...]}, reloaded on change' }),
  jwks: opt<string | undefined>({ flag: 'jwks', env: 'WHARF_GATEWAY_JWKS', default: undefined, parse: parsers.string, help: 'JWKS file or URL that tokens are checked against (default with --control: control\'s /.well-known/jwks.json)' }),
  jwksCooldownMs: opt({ flag: 'jwks-cooldown-ms', env: 'WHARF_GATEWAY_JWKS_COOLDOWN_MS', default: 30_000, parse: parsers.positive, help: 'least time between two fetches of a JWKS URL for an unknown key id' }),
  tlsCert: opt<string[]>({ flag: 'tls-cert', env: 'WHARF_GATEWAY_TLS_CERT', default: [], multiple: true, parse: parsers.string, help: 'certificate file (repeat with --tls-key for several, chosen by SNI); default: issued by the local CA' }),
  tlsKey: opt<string[]>({ flag: 'tls-key', env: 'WHARF_GATEWAY_TLS_KEY', default: [], multiple: true, parse: parsers.string, help: 'private key file for the --tls-cert at the same position' }),
  sessionTtlS: opt({ flag: 'session-ttl-s', env: 'WHARF_SESSION_TTL_S', default: 43_200, parse: parsers.positive, help: 'lifetime of the app cookie a browser link is exchanged for (12 h)' }),
  maxHeaderBytes: opt({ flag: 'max-header-bytes', env: 'WHARF_GATEWAY_MAX_HEADER_BYTES', default: 16_384, parse: parsers.positive, help: 'largest request head; larger is 431' }),
  maxHeaders: opt({ flag: 'max-headers', env: 'WHARF_GATEWAY_MAX_HEADERS', default: 100, parse: parsers.positive, help: 'most request header fields; more is 431' }),
  headersTimeoutMs: opt({ flag: 'headers-timeout-ms', env: 'WHARF_GATEWAY_HEADERS_TIMEOUT_MS', default: 10_000, parse: parsers.positive, help: 'time a client has to send a request head (slowloris guard)' }),
  requestTimeoutMs: opt({ flag: 'request-timeout-ms', env: 'WHARF_GATEWAY_REQUEST_TIMEOUT_MS', default: 0, parse: parsers.whole, help: 'time a client has to send a whole request (0: no limit; a stalled body is cut by --client-idle-timeout-ms)' }),
  clientIdleTimeoutMs: opt({ flag: 'client-idle-timeout-ms', env: 'WHARF_GATEWAY_CLIENT_IDLE_TIMEOUT_MS', default: 60_000, parse: parsers.positive, help: 'close an HTTP request whose body sends no byte this long (WebSockets and TCP keep their own timeouts)' }),
  keepAliveTimeoutMs: opt({ flag: 'keep-alive-timeout-ms', env: 'WHARF_GATEWAY_KEEP_ALIVE_TIMEOUT_MS', default: 65_000, parse: parsers.positive, help: 'idle time before a client keep-alive connection is closed' }),
  maxConnections: opt({ flag: 'max-connections', env: 'WHARF_GATEWAY_MAX_CONNECTIONS', default: 10_000, parse: parsers.positive, help: 'client connections in total' }),
  maxConnectionsPerIp: opt({ flag: 'max-connections-per-ip', env: 'WHARF_GATEWAY_MAX_CONNECTIONS_PER_IP', default: 1_000, parse: parsers.positive, help: 'client connections from one address' }),
  upstreamConnectTimeoutMs: opt({ flag: 'upstream-connect-timeout-ms', env: 'WHARF_GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS', default: 5_000, parse: parsers.positive, help: 'time to connect to an app' }),
  upstreamTimeoutMs: opt({ flag: 'upstream-timeout-ms', env: 'WHARF_GATEWAY_UPSTREAM_TIMEOUT_MS', default: 60_000, parse: parsers.positive, help: 'time an app has to start answering; then 504' }),
  upstreamConnections: opt({ flag: 'upstream-connections', env: 'WHARF_GATEWAY_UPSTREAM_CONNECTIONS', default: 256, parse: parsers.positive, help: 'keep-alive pool size per app' }),
  tcpCloseGraceMs: opt({ flag: 'tcp-close-grace-ms', env: 'WHARF_GATEWAY_TCP_CLOSE_GRACE_MS', default: 5_000, parse: parsers.positive, help: 'time live TCP connections get after their route is removed' }),
  tcpIdleTimeoutMs: opt({ flag: 'tcp-idle-timeout-ms', env: 'WHARF_GATEWAY_TCP_IDLE_TIMEOUT_MS', default: 0, parse: parsers.whole, help: 'close a TCP connection silent this long (0: never)' }),
  tcpMaxConnections: opt({ flag: 'tcp-max-connections', env: 'WHARF_GATEWAY_TCP_MAX_CONNECTIONS', default: 10_000, parse: parsers.positive, help: 'TCP connections in total' }),
  tcpMaxConnectionsPerRoute: opt({ flag: 'tcp-max-connections-per-route', env: 'WHARF_GATEWAY_TCP_MAX_CONNECTIONS_PER_ROUTE', default: 1_000, parse: parsers.positive, help: 'TCP connections per route' }),
  clientCa: opt<string | undefined>({ flag: 'client-ca', env: 'WHARF_GATEWAY_CLIENT_CA', default: undefined, parse: parsers.string, help: 'CA of client certificates for clientCert routes (default: the local CA)' }),
  workers: opt({ flag: 'workers', env: 'WHARF_GATEWAY_WORKERS', default: availableParallelism(), shownDefault: 'the number of cores', parse: parsers.positive, help: 'processes serving the ports (1: one process, no supervisor)' }),
  drainGraceMs: opt({ flag: 'drain-grace-ms', env: 'WHARF_GATEWAY_DRAIN_GRACE_MS', default: 30_000, parse: parsers.positive, help: 'time a replaced worker (SIGHUP) gives its WebSockets and TCP connections before closing them; --tcp-close-grace-ms is the same for a removed route' }),
  http2: opt({ flag: 'http2', env: 'WHARF_GATEWAY_HTTP2', default: true, boolean: true, parse: parsers.bool, help: 'offer HTTP/2 by ALPN on the HTTPS port (--no-http2: HTTP/1.1 only)' }),
  h2Websockets: opt({ flag: 'h2-websockets', env: 'WHARF_GATEWAY_H2_WEBSOCKETS', default: false, boolean: true, parse: parsers.bool, help: 'announce extended CONNECT (RFC 8441): WebSockets over HTTP/2, bridged to HTTP/1.1 upstream' }),
  accessLog: opt({ flag: 'access-log', env: 'WHARF_GATEWAY_ACCESS_LOG', default: false, boolean: true, parse: parsers.bool, help: 'log one line per request' }),
  logLevel: opt({ flag: 'log-level', env: 'WHARF_LOG_LEVEL', default: 'info', parse: parsers.string, help: 'fatal, error, warn, info, debug' }),
};

export type GatewaySettings = Values<typeof gatewaySettings> & { home: string };

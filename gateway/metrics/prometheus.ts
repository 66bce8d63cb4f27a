import { collectDefaultMetrics, Registry } from 'prom-client';
import { DURATION_BUCKETS_S, TCP_DURATION_BUCKETS_S, type RouteStats } from './route-stats.ts';

/** What the admin port serves on /metrics. */
export interface GatewayMetrics {
  contentType: string;
  metrics(): Promise<string>;
}

/**
 * The gateway's Prometheus exposition: the metric names of DESIGN.md, written straight from
 * each route's RouteStats when Prometheus scrapes (the request path only bumps numbers), plus
 * prom-client's process metrics. Route ids are DNS labels, so label values need no escaping;
 * with 10,000 busy routes this is one pass of string building instead of prom-client's
 * per-sample label formatting.
 */
export function createGatewayMetrics(routes: () => Iterable<RouteStats>, routeCount: () => number): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wharf_gateway_' });
  return {
    contentType: registry.contentType,
    async metrics() {
      return routeMetricsText([...routes()], routeCount()) + (await registry.metrics());
    },
  };
}

function head(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** Cumulative `_bucket` lines, `_sum` and `_count` from non-cumulative counts. */
function histogram(out: string[], name: string, route: string, bounds: number[], counts: Float64Array, sum: number): void {
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i];
    out.push(`${name}_bucket{route="${route}",le="${bounds[i]}"} ${cumulative}`);
  }
  cumulative += counts[bounds.length];
  out.push(`${name}_bucket{route="${route}",le="+Inf"} ${cumulative}`, `${name}_sum{route="${route}"} ${sum}`, `${name}_count{route="${route}"} ${cumulative}`);
}

export function routeMetricsText(stats: RouteStats[], routeCount: number): string {
  const out: string[] = [];
  head(out, 'wharf_gateway_requests_total', 'counter', 'HTTP requests answered, by route and status code.');
  for (const s of stats) for (const [code, n] of s.codes) out.push(`wharf_gateway_requests_total{route="${s.route}",code="${code}"} ${n}`);

  const duration = 'wharf_gateway_request_duration_seconds';
  head(out, duration, 'histogram', 'Time from request to the end of the response, by route.');
  for (const s of stats) if (s.requests > 0) histogram(out, duration, s.route, DURATION_BUCKETS_S, s.buckets, s.durationSumS);

  // Only the kinds a route has carried: an HTTP app does not also list ws and tcp zeros.
  head(out, 'wharf_gateway_open_connections', 'gauge', 'Requests in flight (http) and open WebSocket and TCP connections, by route.');
  for (const s of stats) {
    if (s.requests > 0 || s.open.http > 0) out.push(`wharf_gateway_open_connections{route="${s.route}",kind="http"} ${s.open.http}`);
    if (s.wsConnections > 0) out.push(`wharf_gateway_open_connections{route="${s.route}",kind="ws"} ${s.open.ws}`);
    if (s.tcpConnections > 0) out.push(`wharf_gateway_open_connections{route="${s.route}",kind="tcp"} ${s.open.tcp}`);
  }

  head(out, 'wharf_gateway_bytes_total', 'counter', 'Body and stream bytes, by route; in: from clients, out: to clients.');
  for (const s of stats) {
    if (s.bytesIn === 0 && s.bytesOut === 0 && s.requests === 0 && s.tcpConnections === 0) continue;
    out.push(`wharf_gateway_bytes_total{route="${s.route}",direction="in"} ${s.bytesIn}`, `wharf_gateway_bytes_total{route="${s.route}",direction="out"} ${s.bytesOut}`);
  }

  head(out, 'wharf_gateway_tcp_connections_total', 'counter', 'TCP connections accepted, by route (raw, TLS by SNI, and tunnels).');
  for (const s of stats) if (s.tcpConnections > 0) out.push(`wharf_gateway_tcp_connections_total{route="${s.route}"} ${s.tcpConnections}`);
  head(out, 'wharf_gateway_tcp_connect_errors_total', 'counter', 'TCP connections whose upstream could not be reached, by route.');
  for (const s of stats) if (s.tcpConnections > 0) out.push(`wharf_gateway_tcp_connect_errors_total{route="${s.route}"} ${s.tcpConnectErrors}`);
  const tcpDuration = 'wharf_gateway_tcp_connection_duration_seconds';
  head(out, tcpDuration, 'histogram', 'Lifetime of closed TCP connections, by route.');
  for (const s of stats) if (s.tcpConnections > 0) histogram(out, tcpDuration, s.route, TCP_DURATION_BUCKETS_S, s.tcpBuckets, s.tcpDurationSumS);

  head(out, 'wharf_gateway_last_activity_seconds', 'gauge', 'Unix time of the last request or byte seen, by route (for idle detection).');
  for (const s of stats) if (s.lastActivity > 0) out.push(`wharf_gateway_last_activity_seconds{route="${s.route}"} ${s.lastActivity / 1000}`);

  head(out, 'wharf_gateway_routes', 'gauge', 'Routes in the table.');
  out.push(`wharf_gateway_routes ${routeCount}`);
  return out.join('\n') + '\n\n';
}

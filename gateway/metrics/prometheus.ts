import { collectDefaultMetrics, Registry } from 'prom-client';
import { DURATION_BUCKETS_S, TCP_DURATION_BUCKETS_S, type RouteStats } from './route-stats.ts';

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

/**
 * A metric whose samples are read from RouteStats when Prometheus scrapes, so that the
 * request path never touches prom-client: it only bumps numbers on its route's stats.
 */
class CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly #collect: () => Sample[];
  constructor(name: string, help: string, type: CollectedMetric['type'], collect: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#collect = collect;
  }
  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.#collect(), aggregator: 'sum' as const };
  }
}

/** Prometheus histogram samples (cumulative buckets, sum, count) from non-cumulative counts. */
function histogram(name: string, route: string, bounds: number[], counts: Float64Array, sum: number): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += counts[i];
    out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { route, le } });
  });
  cumulative += counts[bounds.length];
  out.push({ metricName: `${name}_bucket`, value: cumulative, labels: { route, le: '+Inf' } });
  out.push({ metricName: `${name}_sum`, value: sum, labels: { route } });
  out.push({ metricName: `${name}_count`, value: cumulative, labels: { route } });
  return out;
}

function* each<T>(stats: Iterable<RouteStats>, f: (s: RouteStats) => Iterable<T>): Iterable<T> {
  for (const s of stats) yield* f(s);
}

/** The gateway's Prometheus registry: the metric names of DESIGN.md, plus process metrics. */
export function createGatewayRegistry(routes: () => Iterable<RouteStats>, routeCount: () => number): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wharf_gateway_' });
  const metrics = [
    new CollectedMetric('wharf_gateway_requests_total', 'HTTP requests answered, by route and status code.', 'counter', () => [
      ...each(routes(), (s) => [...s.codes].map(([code, value]) => ({ value, labels: { route: s.route, code } }))),
    ]),
    new CollectedMetric('wharf_gateway_request_duration_seconds', 'Time from request to the end of the response, by route.', 'histogram', () => [
      ...each(routes(), (s) => (s.requests === 0 ? [] : histogram('wharf_gateway_request_duration_seconds', s.route, DURATION_BUCKETS_S, s.buckets, s.durationSumS))),
    ]),
    new CollectedMetric('wharf_gateway_tcp_connections_total', 'TCP connections accepted, by route (raw, TLS by SNI, and tunnels).', 'counter', () => [
      ...each(routes(), (s) => (s.tcpConnections === 0 ? [] : [{ value: s.tcpConnections, labels: { route: s.route } }])),
    ]),
    new CollectedMetric('wharf_gateway_tcp_connect_errors_total', 'TCP connections whose upstream could not be reached, by route.', 'counter', () => [
      ...each(routes(), (s) => (s.tcpConnections === 0 ? [] : [{ value: s.tcpConnectErrors, labels: { route: s.route } }])),
    ]),
    new CollectedMetric('wharf_gateway_tcp_connection_duration_seconds', 'Lifetime of closed TCP connections, by route.', 'histogram', () => [
      ...each(routes(), (s) => (s.tcpConnections === 0 ? [] : histogram('wharf_gateway_tcp_connection_duration_seconds', s.route, TCP_DURATION_BUCKETS_S, s.tcpBuckets, s.tcpDurationSumS))),
    ]),
    new CollectedMetric('wharf_gateway_last_activity_seconds', 'Unix time of the last request or byte seen, by route (for idle detection).', 'gauge', () => [
      ...each(routes(), (s) => (s.lastActivity === 0 ? [] : [{ value: s.lastActivity / 1000, labels: { route: s.route } }])),
    ]),
    new CollectedMetric('wharf_gateway_open_connections', 'Requests in flight (http) and open WebSocket and TCP connections, by route.', 'gauge', () => [
      ...each(routes(), (s) => (['http', 'ws', 'tcp'] as const).map((kind) => ({ value: s.open[kind], labels: { route: s.route, kind } }))),
    ]),
    new CollectedMetric('wharf_gateway_bytes_total', 'Body and stream bytes, by route; in: from clients, out: to clients.', 'counter', () => [
      ...each(routes(), (s) => [
        { value: s.bytesIn, labels: { route: s.route, direction: 'in' } },
        { value: s.bytesOut, labels: { route: s.route, direction: 'out' } },
      ]),
    ]),
    new CollectedMetric('wharf_gateway_routes', 'Routes in the table.', 'gauge', () => [{ value: routeCount(), labels: {} }]),
  ];
  for (const m of metrics) registry.registerMetric(m as never);
  return registry;
}

import Fastify, { type FastifyInstance } from 'fastify';
import type { Route } from '../../protocol/route.ts';
import type { GatewayMetrics } from '../metrics/prometheus.ts';
import type { RouteStats } from '../metrics/route-stats.ts';

/** The route table as the admin port shows it: each route with its figures. */
export interface AdminTable {
  version: number;
  size: number;
  entries(): Iterable<{ route: Route; stats: RouteStats }>;
}

export interface AdminSources {
  /**
   * Brings the figures up to date before an answer: a supervisor gathers its workers' (one
   * process has them at hand and leaves this out).
   */
  refresh?: () => Promise<void>;
  table: () => AdminTable;
  metrics: GatewayMetrics;
  /** Routes the provider refused, with the reason. */
  routeErrors: () => { field: string; message: string }[];
  /** The port each raw TCP route listens on. */
  tcpPorts: () => Map<string, number>;
}

/**
 * The admin port, on loopback by default and never on the public port: Prometheus metrics,
 * health, the route table (header values hidden: they are secrets), and per-route stats.
 * With workers (--workers), the supervisor serves it for the whole gateway.
 */
export function createAdminEntrypoint(sources: AdminSources): FastifyInstance {
  const app = Fastify({ logger: false });
  if (sources.refresh) app.addHook('onRequest', sources.refresh);
  app.get('/healthz', async () => ({ ok: true, routes: sources.table().size }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', sources.metrics.contentType);
    return sources.metrics.metrics();
  });
  app.get('/routes', async () => {
    const table = sources.table();
    const ports = sources.tcpPorts();
    const routes = [...table.entries()].map(({ route, stats }) => {
      const shown: Record<string, unknown> = { ...route };
      if (route.kind === 'http') shown.headers = Object.fromEntries(Object.keys(route.headers).map((k) => [k, '(hidden)']));
      // A raw TCP route that could not open its port is listed as not listening.
      const state = route.kind === 'tcp' && route.tls === 'none' && !ports.has(route.id) ? 'not listening' : route.status;
      return { ...shown, ...(route.kind === 'tcp' && route.tls === 'none' ? { port: ports.get(route.id) ?? null } : {}), state, open: stats.open };
    });
    return { version: table.version, routes, errors: sources.routeErrors() };
  });
  app.get('/stats', async () => ({ routes: [...sources.table().entries()].map((e) => e.stats.snapshot()) }));
  return app;
}

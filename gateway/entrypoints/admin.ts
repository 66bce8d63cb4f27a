import Fastify, { type FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../metrics/prometheus.ts';
import type { LiveRoutes } from '../routing/live-routes.ts';

export interface AdminSources {
  live: LiveRoutes;
  metrics: GatewayMetrics;
  /** Routes the provider refused, with the reason. */
  routeErrors: () => { field: string; message: string }[];
  /** The port each raw TCP route listens on. */
  tcpPorts: () => Map<string, number>;
}

/**
 * The admin port, on loopback by default and never on the public port: Prometheus metrics,
 * health, the route table (header values hidden: they are secrets), and per-route stats.
 */
export function createAdminEntrypoint(sources: AdminSources): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ ok: true, routes: sources.live.table.size }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', sources.metrics.contentType);
    return sources.metrics.metrics();
  });
  app.get('/routes', async () => {
    const table = sources.live.table;
    const ports = sources.tcpPorts();
    const routes = [...table.values()].map(({ route, record }) => {
      const shown: Record<string, unknown> = { ...route };
      if (route.kind === 'http') shown.headers = Object.fromEntries(Object.keys(route.headers).map((k) => [k, '(hidden)']));
      // A raw TCP route that could not open its port is listed as not listening.
      const state = route.kind === 'tcp' && route.tls === 'none' && !ports.has(route.id) ? 'not listening' : route.status;
      return { ...shown, ...(route.kind === 'tcp' && route.tls === 'none' ? { port: ports.get(route.id) ?? null } : {}), state, open: record.stats.open };
    });
    return { version: table.version, routes, errors: sources.routeErrors() };
  });
  app.get('/stats', async () => ({ routes: [...sources.live.table.values()].map((l) => l.record.stats.snapshot()) }));
  return app;
}

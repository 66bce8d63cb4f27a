import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse, ValidationError } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import { parseGatewayDelta } from '../metrics/gateway-delta.ts';
import type { MetricsHistory } from '../metrics/history.ts';
import type { IdleMonitor } from '../idle/idle-monitor.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { Clock, Store } from '../store/store.ts';
import { bearer, type ApiAuth } from './auth.ts';
import { instanceFor } from '../access/instance-access.ts';

/*
 * Metrics history endpoints (issue 4, "Metrics history"); agents' samples are in agents.ts.
 *
 * POST /api/v1/gateways/stats, `Authorization: Bearer <gateway key>` (as the route stream),
 *   body {deltas: [GatewayDelta, …]} (control/metrics/gateway-delta.ts), at most MAX_DELTAS.
 *   The batch is checked whole first: one malformed delta refuses all of them with a 400 that
 *   names it (`deltas[3].latency`), and nothing is recorded, so a gateway never has to work out
 *   which were taken. A well-formed batch → 200 {recorded, late, unknown}: `late` counts
 *   deltas the history refused as too old or ahead of control's clock, `unknown` those whose
 *   route is neither a live route nor an instance control knows (a route id is its instance id).
 *   Recorded deltas are also gateway traffic for the idle monitor (control/idle/).
 * GET /api/v1/instances/:id/metrics?from=&to= (Unix ms or an ISO time; defaults: the last
 *   hour up to now) → the MetricsSeries of control/metrics/history.ts. Another user's instance
 *   is a 404.
 */

export const GATEWAY_STATS_PATH = '/api/v1/gateways/stats';
export const MAX_DELTAS = 5000;
const STATS_BODY_LIMIT = 16 * 1024 * 1024; // 5000 routes of small histograms

export interface MetricsRouteDeps {
  store: Store;
  auth: ApiAuth;
  routes: RouteLog;
  history: MetricsHistory;
  clock: Clock;
  /** Gateway traffic is one of the idle detector's signals. */
  idle?: IdleMonitor;
}

const MetricsQuery = Type.Object({
  from: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
}, { additionalProperties: false });

function time(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new ValidationError(field, 'must be a time: Unix milliseconds or an ISO 8601 date and time');
  return ms;
}

export function metricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const { store, auth, routes, history, clock, idle } = deps;

  app.post(GATEWAY_STATS_PATH, { bodyLimit: STATS_BODY_LIMIT }, async (request) => {
    const key = bearer(request.headers.authorization);
    const gateway = key ? await store.gateways.verify(key) : undefined;
    if (!gateway) throw new ControlError('CTL_GATEWAY_KEY', key ? 'this gateway key is unknown' : 'no gateway key was sent');
    const body = request.body as { deltas?: unknown } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('', 'the body must be an object {deltas: [...]}');
    const unknownField = Object.keys(body).find((k) => k !== 'deltas');
    if (unknownField) throw new ValidationError(unknownField, 'unknown field');
    if (!Array.isArray(body.deltas)) throw new ValidationError('deltas', 'must be an array of route deltas');
    if (body.deltas.length > MAX_DELTAS) throw new ValidationError('deltas', `must hold at most ${MAX_DELTAS} deltas`);
    const deltas = body.deltas.map((d, i) => parseGatewayDelta(d, `deltas[${i}]`));
    const now = clock();
    let recorded = 0, late = 0, unknown = 0;
    for (const delta of deltas) {
      const instance = routes.get(delta.route) ? delta.route : (await store.instances.get(delta.route))?.id;
      if (!instance) unknown++;
      else if (await history.recordGateway(instance, delta, now)) {
        recorded++;
        idle?.traffic(instance, gateway.id, delta, now); // late deltas are no sign of traffic now
      } else late++;
    }
    return { recorded, late, unknown };
  });

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id/metrics', async (request) => {
    const instance = await instanceFor(store, auth.user(request), request.params.id, 'viewer');
    const q = parse(MetricsQuery, request.query ?? {});
    const from = time('from', q.from);
    const to = time('to', q.to);
    if (from !== undefined && to !== undefined && to <= from) throw new ValidationError('to', 'must be after from');
    return history.query(instance.id, { from, to, now: clock() });
  });
}

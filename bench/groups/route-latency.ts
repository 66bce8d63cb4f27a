import { pino } from 'pino';
import { measureRouteLatency, type RouteLatencyResult, type RouteStreamConsumer } from '../../control/routes/route-latency.ts';
import { ControlProvider } from '../../gateway/providers/control-provider.ts';
import { UpstreamPools } from '../../gateway/proxy/upstream-pools.ts';
import { LiveRoutes } from '../../gateway/routing/live-routes.ts';
import { formatMs } from '../format.ts';
import type { BenchContext } from './context.ts';

/** Routes in the table while a change is measured. */
export const PROPAGATION_ROUTE_COUNTS = [1_000, 10_000] as const;

/** Measured changes of each kind: 500 at the default 10 s, 50 at 1 s (the smoke run). */
export function propagationSamples(durationS: number): number {
  return Math.min(500, Math.max(50, Math.round(durationS * 50)));
}

export interface PropagationCase extends RouteLatencyResult {
  /** Tables the gateway's LiveRoutes swapped in while measuring (snapshot and warm-up included). */
  applied: number;
  /** Errors the provider delivered with a table, or thrown by LiveRoutes.apply. */
  errors: number;
}

/**
 * Route propagation in one process over a real loopback socket: control's RouteLog changes →
 * its route stream writes an NDJSON delta → the gateway's ControlProvider (undici) reads and
 * parses it → LiveRoutes.apply builds and swaps the gateway's live table. The clock stops
 * when the new table is in place. The agent's HTTP POST to control and control's store write
 * are not part of it.
 */
export async function runRouteLatency(ctx: Pick<BenchContext, 'durationS' | 'log'>, counts: readonly number[] = PROPAGATION_ROUTE_COUNTS): Promise<PropagationCase[]> {
  const samples = propagationSamples(ctx.durationS);
  const cases: PropagationCase[] = [];
  for (const routes of counts) {
    const pools = new UpstreamPools({ connectTimeoutMs: 5_000, headersTimeoutMs: 30_000, connections: 8 });
    const live = new LiveRoutes(pools);
    let applied = 0;
    let errors = 0;
    const connect = (controlUrl: string, key: string): RouteStreamConsumer => {
      const provider = new ControlProvider({ controlUrl, key, log: pino({ level: 'silent' }) });
      return {
        start: (apply) => provider.start((table, routeErrors) => {
          errors += routeErrors.length;
          try {
            live.apply(table);
            applied++;
          } catch {
            errors++;
            return;
          }
          // measureRouteLatency stops its clock here: after the live table was swapped.
          apply(table, routeErrors);
        }),
        close: () => provider.close(),
      };
    };
    try {
      const result = await measureRouteLatency({ connect, samples, routes, warmup: Math.min(50, samples) });
      if (live.table.size < routes) errors++;
      cases.push({ ...result, applied, errors });
      ctx.log(`  ${routes.toLocaleString('en-US')} routes, ${samples} changes each: add p50 ${formatMs(result.add.p50)} p99 ${formatMs(result.add.p99)},` +
        ` remove p50 ${formatMs(result.remove.p50)} p99 ${formatMs(result.remove.p99)}`);
    } finally {
      live.close();
      await pools.close();
    }
  }
  return cases;
}

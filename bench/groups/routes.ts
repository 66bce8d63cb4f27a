import { BODIES } from '../bodies.ts';
import { combineWrk, runWrk, type WrkResult } from '../load/wrk.ts';
import { startGatewayPeer, type Gateway } from '../peers/gateway.ts';
import { formatMs, formatRps } from '../format.ts';
import type { RoutesCase } from '../results.ts';
import { expectOk } from '../support/net.ts';
import type { BenchContext } from './context.ts';

const SCRIPT = new URL('../load/random-host.lua', import.meta.url).pathname;
export const ROUTE_COUNTS = [1, 10_000] as const;

/** Rounds of about two seconds: enough that wrk's connection setup is a small part of each. */
export function roundsFor(durationS: number): { rounds: number; roundS: number } {
  const rounds = Math.max(1, Math.floor(durationS / 2));
  return { rounds, roundS: Math.max(1, Math.round(durationS / rounds)) };
}

/**
 * The same gateway and the same wrk script (a random host among N per request) with a
 * table of 1 and of 10,000 routes: lookups must not get slower as the table grows. The
 * target is a 5% difference, less than this shared machine's drift over a minute, so the two
 * are measured in alternating rounds (1, 10k, 10k, 1, …) rather than one after the other; the
 * idle one of the two gateways costs next to nothing meanwhile.
 */
export async function runRoutes(ctx: BenchContext): Promise<RoutesCase[]> {
  const gateways: Gateway[] = [];
  try {
    for (const n of ROUTE_COUNTS) {
      const routes = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, target: ctx.upstream.url, public: true }));
      gateways.push(await startGatewayPeer(ctx.work.sub('gateway'), ctx.tls, `routes-${n}`, routes, { workers: 1 }));
    }
    const loads = gateways.map((gw, i) => {
      const url = `https://127.0.0.1:${gw.httpsPort}${BODIES.small.path}`;
      return { url, script: SCRIPT, scriptArgs: [String(ROUTE_COUNTS[i]), 'apps.localhost'] };
    });
    // /metrics is read only before the warm-up and after the last round: with 10,000 routes
    // one read costs the gateway most of a second of CPU and leaves garbage to collect, which
    // would otherwise land in the next round of only one of the two tables.
    const before: number[] = [];
    for (const [i, n] of ROUTE_COUNTS.entries()) {
      for (const r of new Set([0, n - 1])) await expectOk({ url: loads[i].url, host: `r${r}.apps.localhost`, ca: ctx.tls.caPem });
      before.push(await gateways[i].served());
      if (ctx.warmupS > 0) await runWrk({ ...loads[i], durationS: ctx.warmupS });
    }
    const { rounds, roundS } = roundsFor(ctx.durationS);
    const runs: WrkResult[][] = ROUTE_COUNTS.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) runs[i].push(await runWrk({ ...loads[i], durationS: roundS }));
    }
    const cases: RoutesCase[] = [];
    for (const [i, n] of ROUTE_COUNTS.entries()) {
      const wrk = combineWrk(runs[i]);
      cases.push({ routes: n, wrk, viaGateway: (await gateways[i].served()) - before[i] });
      ctx.log(`  ${n.toLocaleString('en-US')} route(s), ${rounds} × ${roundS} s: ${formatRps(wrk.rps)} req/s, p50 ${formatMs(wrk.p50Ms)}, p99 ${formatMs(wrk.p99Ms)}, errors ${wrk.errors}`);
    }
    return cases;
  } finally {
    await Promise.all(gateways.map((gw) => gw.stop()));
  }
}

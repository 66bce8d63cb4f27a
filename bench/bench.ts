import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { PROPAGATION_ROUTE_COUNTS, runRouteLatency } from './groups/route-latency.ts';
import { JUPYTER_LAUNCH, runLaunch } from './groups/launch.ts';
import { runRoutePropagation } from './groups/route-propagation.ts';
import { runHa } from './groups/ha.ts';
import { runSnapshot } from './groups/snapshot.ts';
import { runRoutes } from './groups/routes.ts';
import { runTcp } from './groups/tcp.ts';
import { cpuRequests, runThroughput, throughputRounds } from './groups/throughput.ts';
import { runWebSocket } from './groups/websocket.ts';
import type { BenchContext } from './groups/context.ts';
import { makeTlsFiles } from './peers/tls-files.ts';
import { startUpstreamNginx } from './peers/upstream-nginx.ts';
import { renderReport } from './report.ts';
import type { BenchResult } from './results.ts';
import { evaluateTargets } from './targets.ts';
import { requireTools, versions } from './support/tools.ts';
import { makeWorkDir } from './support/work-dir.ts';

export const RESULTS_FILE = new URL('./RESULTS.md', import.meta.url).pathname;

export interface BenchOptions {
  /** Measured seconds per case (whole seconds: wrk's unit). */
  durationS: number;
  /** Unmeasured seconds before each case (0: none); default half the duration, 1–5 s. */
  warmupS?: number;
  /** Write bench/RESULTS.md. */
  write?: boolean;
  /** The command line recorded in the report. */
  command?: string;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

/**
 * Runs every case once: HTTP throughput per peer and body size (with CPU per request, and
 * HTTP/2 for the peers that offer it), route-table size, route
 * propagation (control → live table), WebSocket round trips, and raw TCP (bulk transfer,
 * connection setup, redis-benchmark). Every process it starts is stopped before it returns or throws.
 */
export async function runBench(options: BenchOptions): Promise<BenchResult & { report: string }> {
  requireTools();
  const durationS = Math.max(1, Math.round(options.durationS));
  const warmupS = options.warmupS === undefined ? Math.min(5, Math.max(1, Math.round(durationS / 2))) : Math.max(0, Math.round(options.warmupS));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const date = new Date().toISOString();
  const loadAverage = os.loadavg();
  const work = makeWorkDir();
  let ok = false;
  try {
    const tls = makeTlsFiles(work.sub('home'));
    const upstream = await startUpstreamNginx(work.sub('upstream'));
    try {
      const ctx: BenchContext = { work, tls, upstream, durationS, warmupS, log };
      log(`HTTP throughput (${durationS} s per case, ${warmupS} s warm-up), CPU per request and HTTP/2 (${cpuRequests(durationS)} requests per run), ${throughputRounds(durationS)} round(s) over every peer`);
      const { http, h2 } = await runThroughput(ctx);
      log('route table size');
      const routes = await runRoutes(ctx);
      log('route propagation: control route log → gateway live table');
      const propagation = await runRouteLatency(ctx);
      log('route propagation end to end: agent endpoint POST → wharf control → wharf gateway serves');
      // The smoke run (1 s cases) skips the 10,000-route preload: it alone takes half a minute.
      const propagationE2e = await runRoutePropagation(ctx, durationS < 5 ? [1_000] : PROPAGATION_ROUTE_COUNTS);
      log('WebSocket round trips');
      const ws = await runWebSocket(ctx);
      log('raw TCP: bulk transfer, connection setup, redis-benchmark');
      const tcp = await runTcp(ctx);
      log('app launch: wharf agent on the Docker Engine, launch → active');
      const launch = await runLaunch(ctx);
      log('Jupyter launch: launch → Jupyter answering');
      const jupyterLaunch = await runLaunch(ctx, JUPYTER_LAUNCH);
      log('workspace snapshot and restore: wharf agent on the Docker Engine, wharf control\'s snapshot store');
      const snapshot = await runSnapshot(ctx);
      log('several controls: launch → active on SQLite, PostgreSQL, three controls; store operations; route changes between controls');
      const ha = await runHa(ctx);
      const result: BenchResult = {
        date,
        command: options.command ?? `node bench/run.ts --duration ${durationS}`,
        durationS,
        warmupS,
        loadAverage,
        versions: versions(),
        http,
        cpuRequests: cpuRequests(durationS),
        throughputRounds: throughputRounds(durationS),
        h2,
        routes,
        ws,
        tcp,
        propagation,
        propagationE2e,
        launch,
        jupyterLaunch,
        snapshot,
        ha,
        targets: evaluateTargets({ http, h2, routes, ws, tcp, propagation, propagationE2e, launch, jupyterLaunch, snapshot }),
      };
      const report = renderReport(result);
      if (options.write ?? true) writeFileSync(RESULTS_FILE, report);
      ok = true;
      return { ...result, report };
    } finally {
      await upstream.stop();
    }
  } finally {
    // A failed run keeps its nginx configs and error logs for a look.
    if (ok) work.remove();
    else log(`bench: configs and logs of the failed run are in ${join(work.path)}`);
  }
}

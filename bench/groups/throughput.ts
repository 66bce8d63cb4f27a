import { BODIES, BODY_NAMES } from '../bodies.ts';
import { formatMs, formatRps, formatUs } from '../format.ts';
import { measureCpuPerRequest, type CpuPerRequest } from '../load/cpu-per-request.ts';
import type { H2loadOptions } from '../load/h2load.ts';
import { runWrk } from '../load/wrk.ts';
import { H2_PEER_LABELS, HTTP_PEER_LABELS, type H2Case, type HttpCase } from '../results.ts';
import { expectOk } from '../support/net.ts';
import type { BenchContext } from './context.ts';
import { HTTP_SETUPS, type HttpEndpoint } from './http-peers.ts';

/** Connections of the HTTP/1.1 CPU run: wrk's, so the proxy holds the same number. */
export const H1_CLIENTS = 50;
/** HTTP/2: fewer connections, several streams on each (100 requests in flight), as browsers do. */
export const H2_CLIENTS = 10;
export const H2_STREAMS = 10;

/**
 * Requests (h2load -n) of each CPU-per-request and HTTP/2 run: the same for every peer.
 * The 1-second smoke run takes few, so that these runs add seconds to it, not minutes.
 */
export function cpuRequests(durationS: number): number {
  return durationS >= 5 ? 50_000 : 2_000;
}

export interface ThroughputResults {
  http: HttpCase[];
  h2: H2Case[];
}

/** h2load's view of an endpoint: the Host as the URL's authority (and TLS name), the connection to 127.0.0.1. */
function h2loadTarget(e: HttpEndpoint, requests: number): H2loadOptions & { load: { requests: number } } {
  const { host, ...headers } = e.headers;
  const { port } = new URL(e.origin);
  return { url: `https://${host}:${port}${BODIES.small.path}`, connectTo: `127.0.0.1:${port}`, headers, load: { requests } };
}

const describeCpu = (c: CpuPerRequest) =>
  `${formatRps(c.load.rps)} req/s, CPU ${formatUs(c.usPerRequest)}/request over ${c.processes} process(es), ${c.load.protocol ?? 'no protocol'}, errors ${c.load.errors}`;

/**
 * Requests per second and latency for the 100-byte and the 1 MiB body, same upstream and
 * same load for every peer; then, for every peer, its CPU time per request over a fixed
 * number of HTTP/1.1 requests, and for those that offer h2, req/s and CPU per request over
 * HTTP/2. Each peer runs alone so that none competes with another for CPU.
 */
export async function runThroughput(ctx: BenchContext): Promise<ThroughputResults> {
  const requests = cpuRequests(ctx.durationS);
  const http: HttpCase[] = [];
  const h2: H2Case[] = [];
  for (const setup of HTTP_SETUPS) {
    const { endpoints, stop } = await setup.start(ctx);
    try {
      for (const e of endpoints) {
        for (const body of BODY_NAMES) {
          const url = `${e.origin}${BODIES[body].path}`;
          const { host, ...rest } = e.headers;
          await expectOk({ url, host, ca: ctx.tls.caPem, headers: rest });
          const before = await e.served?.();
          if (ctx.warmupS > 0) await runWrk({ url, headers: e.headers, durationS: ctx.warmupS });
          const wrk = await runWrk({ url, headers: e.headers, durationS: ctx.durationS });
          const after = await e.served?.();
          const c: HttpCase = { peer: e.peer, body, wrk };
          if (before !== undefined && after !== undefined) c.viaGateway = after - before;
          http.push(c);
          ctx.log(`  ${HTTP_PEER_LABELS[e.peer]}, ${BODIES[body].label}: ${formatRps(wrk.rps)} req/s, p50 ${formatMs(wrk.p50Ms)}, p99 ${formatMs(wrk.p99Ms)}, errors ${wrk.errors}`);
          // Right after the wrk runs of the same body: the peer is warm, no warm-up needed.
          if (body === 'small' && e.pid !== undefined) {
            c.cpu = await measureCpuPerRequest(e.pid, { ...h2loadTarget(e, requests), h1: true, clients: H1_CLIENTS });
            ctx.log(`  ${HTTP_PEER_LABELS[e.peer]}, 100 B, h2load --h1 -n ${requests}: ${describeCpu(c.cpu)}`);
          }
        }
        if (e.h2 && e.pid !== undefined) {
          const before = await e.served?.();
          const run = await measureCpuPerRequest(e.pid, { ...h2loadTarget(e, requests), clients: H2_CLIENTS, streams: H2_STREAMS }, ctx.warmupS);
          const after = await e.served?.();
          const c: H2Case = { peer: e.h2, h2: run };
          if (before !== undefined && after !== undefined) c.viaGateway = after - before;
          h2.push(c);
          ctx.log(`  ${H2_PEER_LABELS[e.h2]}, 100 B, h2load -n ${requests} -c ${H2_CLIENTS} -m ${H2_STREAMS}: ${describeCpu(run)}`);
        }
      }
    } finally {
      await stop();
    }
  }
  return { http, h2 };
}

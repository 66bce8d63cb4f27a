import { BODIES, BODY_NAMES } from '../bodies.ts';
import { formatMs, formatRps, formatUs } from '../format.ts';
import { measureCpuPerRequest, type CpuPerRequest } from '../load/cpu-per-request.ts';
import type { H2loadOptions, H2loadResult } from '../load/h2load.ts';
import { combineWrk, runWrk, type WrkResult } from '../load/wrk.ts';
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

/** What one endpoint measured in one round. */
interface RoundRuns {
  wrk: Partial<Record<(typeof BODY_NAMES)[number], WrkResult>>;
  served: Partial<Record<(typeof BODY_NAMES)[number], number>>;
  cpu?: CpuPerRequest;
  h2?: CpuPerRequest;
  h2Served?: number;
}

/**
 * Rounds over every peer: this VM's CPU speed drifts by tens of percent within minutes, so
 * peers measured one after the other would be compared at different speeds. Two rounds in
 * opposite orders put each peer early and late; the smoke run (1 s cases) takes one.
 */
export function throughputRounds(durationS: number): number {
  return durationS >= 5 ? 2 : 1;
}

/** Several CPU-per-request runs as one: their CPU over their requests. */
export function combineCpu(runs: CpuPerRequest[]): CpuPerRequest {
  const sum = (f: (r: CpuPerRequest) => number) => runs.reduce((n, r) => n + f(r), 0);
  const requests = sum((r) => r.load.requests);
  const seconds = sum((r) => r.load.seconds);
  const cpuSeconds = sum((r) => r.cpuSeconds);
  const load: H2loadResult = {
    protocol: runs[0].load.protocol,
    requests,
    succeeded: sum((r) => r.load.succeeded),
    errors: sum((r) => r.load.errors),
    non2xx: sum((r) => r.load.non2xx),
    seconds,
    rps: seconds ? requests / seconds : 0,
    meanMs: requests ? sum((r) => r.load.meanMs * r.load.requests) / requests : 0,
    bytesRead: sum((r) => r.load.bytesRead),
  };
  return { load, cpuSeconds, processes: Math.max(...runs.map((r) => r.processes)), usPerRequest: requests ? (cpuSeconds * 1e6) / requests : NaN };
}

/**
 * Requests per second and latency for the 100-byte and the 1 MiB body, same upstream and
 * same load for every peer; then, for every peer, its CPU time per request over a fixed
 * number of HTTP/1.1 requests, and for those that offer h2, req/s and CPU per request over
 * HTTP/2. Every peer is started first; each is then loaded alone (the others idle) in each
 * of the rounds, and its figures are those of all its rounds together.
 */
export async function runThroughput(ctx: BenchContext): Promise<ThroughputResults> {
  const requests = cpuRequests(ctx.durationS);
  const rounds = throughputRounds(ctx.durationS);
  const started: { endpoints: HttpEndpoint[]; stop(): Promise<void> }[] = [];
  try {
    for (const setup of HTTP_SETUPS) started.push(await setup.start(ctx));
    const endpoints = started.flatMap((s) => s.endpoints);
    const runs = new Map<HttpEndpoint, RoundRuns[]>(endpoints.map((e) => [e, []]));
    for (let round = 0; round < rounds; round++) {
      ctx.log(`  round ${round + 1} of ${rounds}`);
      for (const e of round % 2 === 0 ? endpoints : [...endpoints].reverse()) runs.get(e)!.push(await runEndpoint(ctx, e, requests));
    }
    const http: HttpCase[] = [];
    const h2: H2Case[] = [];
    for (const e of endpoints) {
      const mine = runs.get(e)!;
      for (const body of BODY_NAMES) {
        const c: HttpCase = { peer: e.peer, body, wrk: combineWrk(mine.map((r) => r.wrk[body]!)) };
        if (e.served) c.viaGateway = mine.reduce((n, r) => n + r.served[body]!, 0);
        if (body === 'small' && e.pid !== undefined) c.cpu = combineCpu(mine.map((r) => r.cpu!));
        http.push(c);
      }
      if (e.h2 && e.pid !== undefined) {
        const c: H2Case = { peer: e.h2, h2: combineCpu(mine.map((r) => r.h2!)) };
        if (e.served) c.viaGateway = mine.reduce((n, r) => n + r.h2Served!, 0);
        h2.push(c);
      }
    }
    return { http, h2 };
  } finally {
    for (const s of started) await s.stop();
  }
}

/** One round of one endpoint: wrk for each body (and h2load --h1 for CPU after the small one), then h2. */
async function runEndpoint(ctx: BenchContext, e: HttpEndpoint, requests: number): Promise<RoundRuns> {
  const out: RoundRuns = { wrk: {}, served: {} };
  for (const body of BODY_NAMES) {
    const url = `${e.origin}${BODIES[body].path}`;
    const { host, ...rest } = e.headers;
    await expectOk({ url, host, ca: ctx.tls.caPem, headers: rest });
    const before = await e.served?.();
    if (ctx.warmupS > 0) await runWrk({ url, headers: e.headers, durationS: ctx.warmupS });
    const wrk = await runWrk({ url, headers: e.headers, durationS: ctx.durationS });
    const after = await e.served?.();
    out.wrk[body] = wrk;
    if (before !== undefined && after !== undefined) out.served[body] = after - before;
    ctx.log(`  ${HTTP_PEER_LABELS[e.peer]}, ${BODIES[body].label}: ${formatRps(wrk.rps)} req/s, p50 ${formatMs(wrk.p50Ms)}, p99 ${formatMs(wrk.p99Ms)}, errors ${wrk.errors}`);
    // Right after the wrk runs of the same body: the peer is warm, no warm-up needed.
    if (body === 'small' && e.pid !== undefined) {
      out.cpu = await measureCpuPerRequest(e.pid, { ...h2loadTarget(e, requests), h1: true, clients: H1_CLIENTS });
      ctx.log(`  ${HTTP_PEER_LABELS[e.peer]}, 100 B, h2load --h1 -n ${requests}: ${describeCpu(out.cpu)}`);
    }
  }
  if (e.h2 && e.pid !== undefined) {
    const before = await e.served?.();
    out.h2 = await measureCpuPerRequest(e.pid, { ...h2loadTarget(e, requests), clients: H2_CLIENTS, streams: H2_STREAMS }, ctx.warmupS);
    const after = await e.served?.();
    if (before !== undefined && after !== undefined) out.h2Served = after - before;
    ctx.log(`  ${H2_PEER_LABELS[e.h2]}, 100 B, h2load -n ${requests} -c ${H2_CLIENTS} -m ${H2_STREAMS}: ${describeCpu(out.h2)}`);
  }
  return out;
}

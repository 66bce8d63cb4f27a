import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Pool } from 'undici';
import { startControlProcess } from '../../test/support/control-process.ts';
import { startGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { runWharf, type Running } from '../../test/support/tcp.ts';
import { formatMs } from '../format.ts';
import { adopt } from '../support/children.ts';
import type { BenchContext } from './context.ts';
import { PROPAGATION_ROUTE_COUNTS } from './route-latency.ts';

/** Measured registrations per table size: 300 at the default 10 s, 20 at 1 s (the smoke run). */
export function endToEndSamples(durationS: number): number {
  return Math.min(300, Math.max(20, Math.round(durationS * 30)));
}

/** Unmeasured registrations before the measured ones (connections, JIT, SQLite caches). */
const WARMUP = 20;
/** Requests in flight while preloading routes through control's API. */
const PRELOAD_CONCURRENCY = 16;
/** The agent's heartbeat: well inside control's lease timeout (30 s) and agent grace (60 s). */
const HEARTBEAT_MS = 5_000;

export interface Distribution { count: number; p50: number; p95: number; p99: number; max: number }

export interface EndToEndPropagationCase {
  /** Routes the gateway served before the measured registrations (all preloaded through the API). */
  routes: number;
  /** POST of the endpoint sent → first gateway response for the host that is not a 404. */
  live: Distribution;
  /** POST of the endpoint sent → control's 200 received (control's own share, validation and store write included). */
  post: Distribution;
  /** Round trip of one poll of the gateway: the resolution of `live`. */
  poll: Distribution;
  /** Seconds the preload of `routes` took through control's API. */
  preloadS: number;
  /** Endpoint POSTs control refused, polls that timed out, or live answers other than 401. */
  errors: number;
}

export interface PropagationOptions {
  /**
   * A PostgreSQL store: two controls on it, the bench's agent calls on the first and the gateway
   * fed by the second, so that each route crosses between controls (NOTIFY, then a read back).
   */
  store?: string;
}

function distribution(samples: number[]): Distribution {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { count: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1) ?? NaN };
}

const envLines = (stdout: string) => Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

/**
 * Route propagation end to end, in real processes: a `wharf control` process, a `wharf
 * gateway` process fed by it over the route stream (WHARF_GATEWAY_CONTROL and a key from
 * `wharf gateways add`), and the bench acting as an agent over control's HTTP API. N routes
 * are preloaded through that API (launch, lease, endpoint for each), then each sample
 * launches and leases one more instance (unmeasured) and times from sending
 * `POST /api/v1/agent/instances/:id/endpoint` until the gateway, polled back to back on one
 * keep-alive HTTPS connection for `<id>.apps.localhost` with the instance's gateway token,
 * stops answering "not there yet": 404, or 503 GW_ROUTE_STARTING once the lease's starting
 * route has arrived. The endpoint is a closed port, so a live route answers 502. The clock
 * stops when that first answer arrives, so a sample overstates by up to one poll round trip.
 * With `options.store`, the agent's control and the gateway's are two controls on one PostgreSQL.
 */
export async function runRoutePropagation(
  ctx: Pick<BenchContext, 'durationS' | 'log' | 'work'>,
  counts: readonly number[] = PROPAGATION_ROUTE_COUNTS,
  options: PropagationOptions = {},
): Promise<EndToEndPropagationCase[]> {
  const samples = endToEndSamples(ctx.durationS);
  const cases: EndToEndPropagationCase[] = [];
  for (const routes of counts) {
    const home = ctx.work.sub(`propagation-${routes}${options.store ? '-2' : ''}`);
    const env = { ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', ...(options.store && { WHARF_STORE: options.store }) };
    const controls: Running[] = [];
    let gw: GatewayProcess | undefined;
    let api: Pool | undefined;
    let poller: Client | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      // With a shared store, a second control (home of its own) feeds the gateway.
      const homes = options.store ? [home, ctx.work.sub(`propagation-${routes}-2-b`)] : [home];
      for (const h of homes) {
        const control = await startControlProcess({ ...env, WHARF_HOME: h }, ['--log-level', 'warn']);
        adopt(control.child);
        controls.push(control);
      }
      const urlOf = (h: string) => (JSON.parse(readFileSync(join(h, 'run', 'control.json'), 'utf8')) as { url: string }).url;
      const url = urlOf(homes[0]);
      const admin = `Bearer ${readFileSync(join(home, 'admin.token'), 'utf8').trim()}`;
      const gateway = await runWharf(['gateways', 'add', 'bench'], env);
      if (gateway.code !== 0) throw new Error(`wharf gateways add: ${gateway.stderr}`);
      const agentAdded = await runWharf(['agents', 'add', 'bench', '--queues', 'bench'], env);
      if (agentAdded.code !== 0) throw new Error(`wharf agents add: ${agentAdded.stderr}`);
      const a = envLines(agentAdded.stdout);
      const agent = `Bearer ${a.WHARF_AGENT_KEY}:${a.WHARF_AGENT_SECRET}`;
      const gwHome = join(home, 'gateway');
      mkdirSync(gwHome, { recursive: true });
      gw = await startGateway({ home: gwHome, env: { ...envLines(gateway.stdout), WHARF_GATEWAY_CONTROL: urlOf(homes.at(-1)!) }, args: ['--log-level', 'warn'] });
      adopt(gw.child);

      api = new Pool(url, { connections: PRELOAD_CONCURRENCY, pipelining: 1 });
      const call = async (method: 'POST' | 'GET', path: string, auth: string, body?: unknown) => {
        const res = await api!.request({
          method, path, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
      };
      const beat = () => call('POST', '/api/v1/agent/heartbeat', agent, { resources: { cpus: 2 } });
      if ((await beat()).status !== 200) throw new Error('the bench agent\'s heartbeat was refused');
      heartbeat = setInterval(() => void beat().catch(() => {}), HEARTBEAT_MS);
      const config = { app: 'container', image: 'wharf/busybox:local', queue: 'bench', routing: { mode: 'https', port: 8080 } };
      const target = { host: '127.0.0.1', port: 9 };
      /** Launches and leases one instance: what an agent has done before it reports an endpoint. */
      const leased = async (): Promise<string> => {
        const launched = await call('POST', '/api/v1/instances', admin, config);
        if (launched.status !== 201) throw new Error(`launch: HTTP ${launched.status} ${JSON.stringify(launched.json)}`);
        const lease = await call('POST', '/api/v1/agent/lease?wait=2000', agent);
        if (lease.status !== 200) throw new Error(`lease: HTTP ${lease.status} ${JSON.stringify(lease.json)}`);
        return lease.json.instance as string;
      };
      const report = (id: string) => call('POST', `/api/v1/agent/instances/${id}/endpoint`, agent, target);
      const tokenOf = async (id: string): Promise<string> => {
        const issued = await call('POST', `/api/v1/instances/${id}/token`, admin, {});
        if (issued.status !== 200) throw new Error(`token: HTTP ${issued.status} ${JSON.stringify(issued.json)}`);
        return `Bearer ${issued.json.token as string}`;
      };
      /** Before its endpoint an instance is not there yet, or starting (its lease's route). */
      const pending = (status: number) => status === 404 || status === 503;

      // Preload: every route through the real API (launch, lease, endpoint), many in flight.
      const preloadStarted = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: PRELOAD_CONCURRENCY }, async () => {
        while (next < routes) {
          next++;
          const res = await report(await leased());
          if (res.status !== 200) throw new Error(`endpoint: HTTP ${res.status} ${JSON.stringify(res.json)}`);
        }
      }));
      const preloadS = (performance.now() - preloadStarted) / 1000;
      ctx.log(`  ${routes.toLocaleString('en-US')} routes preloaded through control's API in ${preloadS.toFixed(1)} s`);

      poller = new Client(`https://127.0.0.1:${gw.httpsPort}`, { connect: { ca: gw.ca, servername: 'localhost' }, pipelining: 1 });
      const poll = async (host: string, authorization: string) => {
        const res = await poller!.request({ method: 'GET', path: '/', headers: { host, authorization, accept: 'application/json' } });
        await res.body.dump();
        return res.statusCode;
      };
      let before = 0;
      for (;;) {
        const routesNow = await fetch(`http://127.0.0.1:${gw.adminPort}/healthz`).then((r) => r.json() as Promise<{ routes: number }>);
        if (routesNow.routes >= routes) break;
        if (++before > 200) throw new Error(`the gateway has ${routesNow.routes} of ${routes} routes after the preload`);
        await new Promise((r) => setTimeout(r, 50));
      }

      const live: number[] = [];
      const posts: number[] = [];
      const polls: number[] = [];
      let errors = 0;
      for (let i = 0; i < WARMUP + samples; i++) {
        const id = await leased();
        const bearer = await tokenOf(id);
        const host = `${id}.apps.localhost`;
        if (!pending(await poll(host, bearer))) errors++; // not live before its endpoint exists
        const started = performance.now();
        const posted = report(id).then((res) => {
          if (i >= WARMUP) posts.push(performance.now() - started);
          return res;
        });
        let status = 404;
        let last = started;
        while (pending(status)) {
          const sent = performance.now();
          status = await poll(host, bearer);
          last = performance.now();
          polls.push(last - sent);
          if (last - started > 5_000) break;
        }
        const elapsed = last - started;
        if ((await posted).status !== 200 || status !== 502) errors++;
        if (i >= WARMUP) live.push(elapsed);
      }
      const result: EndToEndPropagationCase = { routes, live: distribution(live), post: distribution(posts), poll: distribution(polls), preloadS, errors };
      cases.push(result);
      ctx.log(`  ${routes.toLocaleString('en-US')} routes, ${samples} registrations: endpoint POST → gateway serves p50 ${formatMs(result.live.p50)}` +
        ` p95 ${formatMs(result.live.p95)} p99 ${formatMs(result.live.p99)} (control answers the POST: p50 ${formatMs(result.post.p50)} p99 ${formatMs(result.post.p99)};` +
        ` poll round trip p50 ${formatMs(result.poll.p50)}), errors ${errors}`);
    } finally {
      clearInterval(heartbeat);
      await poller?.close().catch(() => {});
      await api?.close().catch(() => {});
      await gw?.stop();
      for (const control of controls) await control.stop();
    }
  }
  return cases;
}

import { formatMs, formatRps } from '../format.ts';
import { runRedisBenchmark, type RedisBenchResult, type RedisTest } from '../load/redis-benchmark.ts';
import { runBulk, runConnect } from '../load/tcp-load.ts';
import { startGatewayPeer, type TcpCounters } from '../peers/gateway.ts';
import { startHaproxy } from '../peers/haproxy.ts';
import { startNginxStream } from '../peers/nginx-stream.ts';
import { startRedis, type Redis } from '../peers/redis.ts';
import { startTcpUpstream } from '../peers/tcp-upstream.ts';
import { REDIS_TESTS, TCP_PEER_LABELS, type RedisCase, type TcpBulkCase, type TcpConnectCase, type TcpPeer, type TcpResults } from '../results.ts';
import { freePort } from '../support/net.ts';
import type { BenchContext } from './context.ts';

/**
 * Parallel connections of the bulk cases: the aggregate of several transfers at once (like
 * `iperf3 -P 4`), what a proxy carrying more than one client's upload sees.
 */
export const BULK_STREAMS = 4;
/** Connections under way at once in the setup cases: one, so that no sample waits behind another. */
export const CONNECT_CONCURRENCY = 1;
/** redis-benchmark's default -c. */
export const REDIS_CLIENTS = 50;
/** The unmeasured first run of each redis-benchmark case: a warm-up and the rate that sizes the real run. */
const REDIS_PROBE_REQUESTS = 5_000;

/** What a peer listens on, by upstream: the sink, the echo server, and Redis (where it is run). */
interface TcpPorts {
  bulk: number;
  echo: number;
  redis?: number;
}

interface TcpApps {
  sink: number;
  echo: number;
  redis: number;
}

interface TcpSetup {
  peer: TcpPeer;
  start(ctx: BenchContext, apps: TcpApps): Promise<{ ports: TcpPorts; counters?: (route: keyof TcpPorts) => Promise<TcpCounters>; stop(): Promise<void> }>;
}

const SETUPS: TcpSetup[] = [
  {
    peer: 'direct',
    async start(_ctx, apps) {
      return { ports: { bulk: apps.sink, echo: apps.echo, redis: apps.redis }, stop: async () => {} };
    },
  },
  {
    peer: 'gateway',
    async start(ctx, apps) {
      const up = { bulk: apps.sink, echo: apps.echo, redis: apps.redis };
      const routes = [];
      for (const [id, port] of Object.entries(up)) routes.push({ id, kind: 'tcp' as const, target: `tcp://127.0.0.1:${port}`, port: await freePort() });
      const gw = await startGatewayPeer(ctx.work.sub('gateway'), ctx.tls, 'tcp', routes, { workers: 1 });
      const p = gw.tcpPorts;
      return { ports: { bulk: p.bulk, echo: p.echo, redis: p.redis }, counters: (route) => gw.tcpCounters(route), stop: gw.stop };
    },
  },
  {
    peer: 'nginx-stream',
    async start(ctx, apps) {
      const nginx = await startNginxStream(ctx.work.sub('nginx-stream'), { bulk: apps.sink, echo: apps.echo, redis: apps.redis });
      return { ports: { bulk: nginx.ports.bulk, echo: nginx.ports.echo, redis: nginx.ports.redis }, stop: nginx.stop };
    },
  },
  {
    peer: 'haproxy',
    async start(ctx, apps) {
      const haproxy = await startHaproxy(ctx.work.sub('haproxy'), { bulk: apps.sink, echo: apps.echo });
      return { ports: { bulk: haproxy.ports.bulk, echo: haproxy.ports.echo }, stop: haproxy.stop };
    },
  },
];

const minus = (a: TcpCounters, b: TcpCounters): TcpCounters => ({
  connections: a.connections - b.connections,
  bytesIn: a.bytesIn - b.bytesIn,
  bytesOut: a.bytesOut - b.bytesOut,
});

/** Around one case: what the gateway counted on the route meanwhile (undefined for other peers). */
async function counted<T>(counters: ((route: keyof TcpPorts) => Promise<TcpCounters>) | undefined, route: keyof TcpPorts, run: () => Promise<T>): Promise<[T, TcpCounters | undefined]> {
  const before = await counters?.(route);
  const result = await run();
  const after = await counters?.(route);
  return [result, before && after ? minus(after, before) : undefined];
}

/**
 * One redis-benchmark case: an unmeasured probe run, an unmeasured warm-up when there is one,
 * then a run sized from their rate to last about the case's duration (redis-benchmark counts
 * requests, not seconds). redis-server's own command count proves the requests arrived.
 */
async function redisCase(ctx: BenchContext, redis: Redis, port: number, test: RedisTest, counters: ((route: keyof TcpPorts) => Promise<TcpCounters>) | undefined) {
  const run = (requests: number) => runRedisBenchmark({ port, test, requests, clients: REDIS_CLIENTS, timeoutMs: Math.max(30_000, 10 * ctx.durationS * 1000) });
  let rate = (await run(REDIS_PROBE_REQUESTS)).rps;
  if (ctx.warmupS > 0) rate = (await run(Math.max(REDIS_PROBE_REQUESTS, Math.round((rate * ctx.warmupS) / REDIS_TESTS.length)))).rps;
  const requests = Math.max(REDIS_PROBE_REQUESTS, Math.round(rate * ctx.durationS));
  const before = await redis.commandsProcessed();
  const [result, viaGateway] = await counted<RedisBenchResult>(counters, 'redis', () => run(requests));
  // Less one: the first INFO is counted once it has run, i.e. in the second reading.
  const commands = (await redis.commandsProcessed()) - before - 1;
  return { result, viaGateway, commands };
}

/**
 * Raw TCP through each proxy, each running alone, against apps that run in processes of their
 * own (the Node sink and echo server, a real redis-server), with load from processes of their
 * own too: bulk upload throughput, connection setup, and redis-benchmark GET/SET.
 */
export async function runTcp(ctx: BenchContext): Promise<TcpResults> {
  const out: TcpResults = { bulk: [], connect: [], redis: [] };
  const upstream = await startTcpUpstream();
  try {
    const redis = await startRedis(ctx.work.sub('redis'));
    try {
      const apps: TcpApps = { sink: upstream.sinkPort, echo: upstream.echoPort, redis: redis.port };
      for (const setup of SETUPS) {
        const label = TCP_PEER_LABELS[setup.peer];
        const { ports, counters, stop } = await setup.start(ctx, apps);
        try {
          const [bulk, bulkVia] = await counted(counters, 'bulk', () =>
            runBulk({ port: ports.bulk, controlPort: upstream.controlPort, streams: BULK_STREAMS, durationS: ctx.durationS, warmupS: ctx.warmupS }));
          const b: TcpBulkCase = { peer: setup.peer, bulk };
          if (bulkVia) b.viaGateway = bulkVia;
          out.bulk.push(b);
          ctx.log(`  bulk, ${label}: ${bulk.gbps.toFixed(2)} Gbit/s (${BULK_STREAMS} streams), errors ${bulk.errors}`);

          const [connect, connectVia] = await counted(counters, 'echo', () =>
            runConnect({ port: ports.echo, concurrency: CONNECT_CONCURRENCY, durationS: ctx.durationS, warmupS: ctx.warmupS }));
          const c: TcpConnectCase = { peer: setup.peer, connect };
          if (connectVia) c.viaGateway = connectVia;
          out.connect.push(c);
          ctx.log(`  connect, ${label}: ${formatRps(connect.rate)} conn/s, p50 ${formatMs(connect.p50Ms)}, p99 ${formatMs(connect.p99Ms)}, errors ${connect.errors}`);

          // redis-benchmark runs direct, through the gateway and through nginx stream only (REDIS_PEERS).
          if (ports.redis === undefined || setup.peer === 'haproxy') continue;
          for (const test of REDIS_TESTS) {
            const { result, viaGateway, commands } = await redisCase(ctx, redis, ports.redis, test, counters);
            const r: RedisCase = { peer: setup.peer, test, redis: result, commands };
            if (viaGateway) r.viaGateway = viaGateway;
            out.redis.push(r);
            ctx.log(`  redis-benchmark ${test}, ${label}: ${formatRps(result.rps)} req/s, p50 ${formatMs(result.p50Ms)}, p99 ${formatMs(result.p99Ms)}, errors ${result.errors}`);
          }
        } finally {
          await stop();
        }
      }
    } finally {
      await redis.stop();
    }
  } finally {
    await upstream.stop();
  }
  return out;
}

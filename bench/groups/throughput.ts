import { createSigner, jwks } from '../../test/support/tokens.ts';
import { APP_HOST, BODIES, BODY_NAMES } from '../bodies.ts';
import { formatMs, formatRps } from '../format.ts';
import { runWrk } from '../load/wrk.ts';
import { startBareHttps } from '../peers/bare-https.ts';
import { startChp } from '../peers/chp.ts';
import { startGatewayPeer } from '../peers/gateway.ts';
import { startNginxProxy } from '../peers/nginx-proxy.ts';
import { HTTP_PEER_LABELS, type HttpCase, type HttpPeer } from '../results.ts';
import { expectOk } from '../support/net.ts';
import type { BenchContext } from './context.ts';

interface Endpoint {
  peer: HttpPeer;
  /** scheme://127.0.0.1:port */
  origin: string;
  headers: Record<string, string>;
  served?: () => Promise<number>;
}

/** One process under test, serving one or more endpoints; started and stopped around its cases. */
interface Setup {
  start(ctx: BenchContext): Promise<{ endpoints: Endpoint[]; stop(): Promise<void> }>;
}

const PRIVATE_HOST = 'p1.apps.localhost';

const SETUPS: Setup[] = [
  {
    async start(ctx) {
      return { endpoints: [{ peer: 'direct', origin: ctx.upstream.url, headers: { host: APP_HOST } }], stop: async () => {} };
    },
  },
  {
    async start(ctx) {
      const bare = await startBareHttps(ctx.tls);
      return { endpoints: [{ peer: 'bare', origin: `https://127.0.0.1:${bare.port}`, headers: { host: APP_HOST } }], stop: bare.stop };
    },
  },
  {
    async start(ctx) {
      const signer = await createSigner();
      // An hour: the token must outlive the whole run, whatever --duration says.
      const token = await signer.sign({ exp: Math.floor(Date.now() / 1000) + 3600 });
      const target = ctx.upstream.url;
      const gw = await startGatewayPeer(ctx.work.sub('gateway'), ctx.tls, 'throughput', [
        { id: 'r1', target, public: true },
        { id: 'p1', target, public: false },
      ], jwks(signer));
      const origin = `https://127.0.0.1:${gw.httpsPort}`;
      const endpoints: Endpoint[] = [
        { peer: 'gateway', origin, headers: { host: APP_HOST }, served: () => gw.served((id) => id === 'r1') },
        { peer: 'gateway-bearer', origin, headers: { host: PRIVATE_HOST, authorization: `Bearer ${token}` }, served: () => gw.served((id) => id === 'p1') },
      ];
      return { endpoints, stop: gw.stop };
    },
  },
  {
    async start(ctx) {
      const chp = await startChp(ctx.tls, ctx.upstream.url);
      return { endpoints: [{ peer: 'chp', origin: `https://127.0.0.1:${chp.port}`, headers: { host: APP_HOST } }], stop: chp.stop };
    },
  },
  {
    async start(ctx) {
      const nginx = await startNginxProxy(ctx.work.sub('nginx-proxy'), ctx.tls, { http: ctx.upstream.url });
      return { endpoints: [{ peer: 'nginx', origin: `https://127.0.0.1:${nginx.port}`, headers: { host: APP_HOST } }], stop: nginx.stop };
    },
  },
];

/**
 * Requests per second and latency for the 100-byte and the 1 MiB body, same upstream and
 * same load for every peer; each peer runs alone so that none competes with another for CPU.
 */
export async function runThroughput(ctx: BenchContext): Promise<HttpCase[]> {
  const cases: HttpCase[] = [];
  for (const setup of SETUPS) {
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
          cases.push(c);
          ctx.log(`  ${HTTP_PEER_LABELS[e.peer]}, ${BODIES[body].label}: ${formatRps(wrk.rps)} req/s, p50 ${formatMs(wrk.p50Ms)}, p99 ${formatMs(wrk.p99Ms)}, errors ${wrk.errors}`);
        }
      }
    } finally {
      await stop();
    }
  }
  return cases;
}

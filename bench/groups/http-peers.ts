import { createSigner, jwks } from '../../test/support/tokens.ts';
import { APP_HOST } from '../bodies.ts';
import { startBareHttps } from '../peers/bare-https.ts';
import { startCaddy } from '../peers/caddy.ts';
import { startChp } from '../peers/chp.ts';
import { startGatewayPeer } from '../peers/gateway.ts';
import { startNginxProxy } from '../peers/nginx-proxy.ts';
import type { H2Peer, HttpPeer } from '../results.ts';
import type { BenchContext } from './context.ts';

/** One way to reach the upstream: directly, or through one peer. */
export interface HttpEndpoint {
  peer: HttpPeer;
  /** scheme://127.0.0.1:port */
  origin: string;
  headers: Record<string, string>;
  /** The peer's process (the root of its tree) whose CPU time is counted; none for direct. */
  pid?: number;
  /** The HTTP/2 case this endpoint also runs, for the peers that offer h2. */
  h2?: H2Peer;
  served?: () => Promise<number>;
}

/** One process under test, serving one or more endpoints; started and stopped around its cases. */
export interface HttpPeerSetup {
  start(ctx: BenchContext): Promise<{ endpoints: HttpEndpoint[]; stop(): Promise<void> }>;
}

const PRIVATE_HOST = 'p1.apps.localhost';
const https = (port: number) => `https://127.0.0.1:${port}`;

/** Every HTTP peer, in the order of the report: the gateway among the others it is held against. */
export const HTTP_SETUPS: HttpPeerSetup[] = [
  {
    async start(ctx) {
      return { endpoints: [{ peer: 'direct', origin: ctx.upstream.url, headers: { host: APP_HOST } }], stop: async () => {} };
    },
  },
  {
    async start(ctx) {
      const bare = await startBareHttps(ctx.tls);
      return { endpoints: [{ peer: 'bare', origin: https(bare.port), headers: { host: APP_HOST }, pid: bare.pid }], stop: bare.stop };
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
      ], { workers: 1, jwks: jwks(signer) });
      const origin = https(gw.httpsPort);
      const endpoints: HttpEndpoint[] = [
        { peer: 'gateway', origin, headers: { host: APP_HOST }, pid: gw.pid, h2: 'gateway', served: () => gw.served((id) => id === 'r1') },
        { peer: 'gateway-bearer', origin, headers: { host: PRIVATE_HOST, authorization: `Bearer ${token}` }, pid: gw.pid, served: () => gw.served((id) => id === 'p1') },
      ];
      return { endpoints, stop: gw.stop };
    },
  },
  {
    // The scaling row: on a 2-core machine the load generator takes one of the cores, so it
    // cannot show 2× (the report says so).
    async start(ctx) {
      const gw = await startGatewayPeer(ctx.work.sub('gateway'), ctx.tls, 'throughput-workers-2', [
        { id: 'r1', target: ctx.upstream.url, public: true },
      ], { workers: 2 });
      const endpoints: HttpEndpoint[] = [
        { peer: 'gateway-workers-2', origin: https(gw.httpsPort), headers: { host: APP_HOST }, pid: gw.pid, served: () => gw.served((id) => id === 'r1') },
      ];
      return { endpoints, stop: gw.stop };
    },
  },
  {
    async start(ctx) {
      const chp = await startChp(ctx.tls, ctx.upstream.url);
      return { endpoints: [{ peer: 'chp', origin: https(chp.port), headers: { host: APP_HOST }, pid: chp.pid }], stop: chp.stop };
    },
  },
  {
    async start(ctx) {
      const nginx = await startNginxProxy(ctx.work.sub('nginx-proxy'), ctx.tls, { http: ctx.upstream.url });
      return { endpoints: [{ peer: 'nginx', origin: https(nginx.port), headers: { host: APP_HOST }, pid: nginx.pid, h2: 'nginx' }], stop: nginx.stop };
    },
  },
  {
    async start(ctx) {
      const caddy = await startCaddy(ctx.work.sub('caddy'), ctx.tls, { http: ctx.upstream.url });
      return { endpoints: [{ peer: 'caddy', origin: https(caddy.port), headers: { host: APP_HOST }, pid: caddy.pid, h2: 'caddy' }], stop: caddy.stop };
    },
  },
];

import { runWsRoundTrips } from '../load/ws-round-trips.ts';
import { startCaddy } from '../peers/caddy.ts';
import { startChp } from '../peers/chp.ts';
import { startGatewayPeer } from '../peers/gateway.ts';
import { startNginxProxy } from '../peers/nginx-proxy.ts';
import { startWsEcho, type WsEcho } from '../peers/ws-echo.ts';
import { formatMs } from '../format.ts';
import { WS_PEER_LABELS, type WsCase, type WsPeer } from '../results.ts';
import type { BenchContext } from './context.ts';

const WS_HOST = 'ws.apps.localhost';
const PATH = '/ws';

interface WsEndpoint {
  url: string;
  host?: string;
  served?: () => Promise<number>;
  stop(): Promise<void>;
}

const SETUPS: { peer: WsPeer; start(ctx: BenchContext, echo: WsEcho): Promise<WsEndpoint> }[] = [
  { peer: 'direct', start: async (_ctx, echo) => ({ url: `${echo.url.replace('http:', 'ws:')}${PATH}`, stop: async () => {} }) },
  {
    peer: 'gateway',
    async start(ctx, echo) {
      const gw = await startGatewayPeer(ctx.work.sub('gateway'), ctx.tls, 'ws', [{ id: 'ws', target: echo.url, public: true }], { workers: 1 });
      return { url: `wss://127.0.0.1:${gw.httpsPort}${PATH}`, host: WS_HOST, served: () => gw.served((id) => id === 'ws'), stop: gw.stop };
    },
  },
  {
    peer: 'chp',
    async start(ctx, echo) {
      const chp = await startChp(ctx.tls, echo.url);
      return { url: `wss://127.0.0.1:${chp.port}${PATH}`, host: WS_HOST, stop: chp.stop };
    },
  },
  {
    peer: 'nginx',
    async start(ctx, echo) {
      const nginx = await startNginxProxy(ctx.work.sub('nginx-ws'), ctx.tls, { ws: echo.url });
      return { url: `wss://127.0.0.1:${nginx.port}${PATH}`, host: WS_HOST, stop: nginx.stop };
    },
  },
  {
    peer: 'caddy',
    async start(ctx, echo) {
      const caddy = await startCaddy(ctx.work.sub('caddy-ws'), ctx.tls, { ws: echo.url });
      return { url: `wss://127.0.0.1:${caddy.port}${PATH}`, host: WS_HOST, stop: caddy.stop };
    },
  },
];

/** Sequential WebSocket echo round trips over one connection, direct and through each proxy. */
export async function runWebSocket(ctx: BenchContext): Promise<WsCase[]> {
  const cases: WsCase[] = [];
  const echo = await startWsEcho();
  try {
    for (const setup of SETUPS) {
      const e = await setup.start(ctx, echo);
      try {
        const before = await e.served?.();
        const ws = await runWsRoundTrips({ url: e.url, host: e.host, ca: ctx.tls.caPem, durationS: ctx.durationS, warmupS: ctx.warmupS });
        const after = await e.served?.();
        const c: WsCase = { peer: setup.peer, ws };
        if (before !== undefined && after !== undefined) c.viaGateway = after - before;
        cases.push(c);
        ctx.log(`  ${WS_PEER_LABELS[setup.peer]}: ${ws.roundTrips.toLocaleString('en-US')} round trips, p50 ${formatMs(ws.p50Ms)}, p99 ${formatMs(ws.p99Ms)}, errors ${ws.errors}`);
      } finally {
        await e.stop();
      }
    }
  } finally {
    await echo.stop();
  }
  return cases;
}

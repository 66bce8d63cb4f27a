import type { BodyName } from './bodies.ts';
import type { WrkResult } from './load/wrk.ts';
import type { WsResult } from './load/ws-round-trips.ts';
import type { Versions } from './support/tools.ts';

export type HttpPeer = 'direct' | 'bare' | 'gateway' | 'gateway-bearer' | 'chp' | 'nginx';
export type WsPeer = 'direct' | 'gateway' | 'chp' | 'nginx';

export const HTTP_PEER_LABELS: Record<HttpPeer, string> = {
  direct: 'direct to upstream (plain HTTP)',
  bare: 'bare Node HTTPS server (ceiling)',
  gateway: 'gateway, public route',
  'gateway-bearer': 'gateway, Bearer token, private route',
  chp: 'configurable-http-proxy (HTTPS)',
  nginx: 'nginx (HTTPS reverse proxy)',
};

export const WS_PEER_LABELS: Record<WsPeer, string> = {
  direct: 'direct (ws://)',
  gateway: 'gateway (wss://, public route)',
  chp: 'configurable-http-proxy (wss://)',
  nginx: 'nginx (wss://)',
};

export interface HttpCase {
  peer: HttpPeer;
  body: BodyName;
  wrk: WrkResult;
  /** Responses the gateway itself counted during the case, warm-up included (gateway cases only). */
  viaGateway?: number;
}

export interface RoutesCase {
  routes: number;
  wrk: WrkResult;
  /** Responses the gateway itself counted during the case, warm-up included. */
  viaGateway: number;
}

export interface WsCase {
  peer: WsPeer;
  ws: WsResult;
  /** WebSocket upgrades the gateway counted (gateway case only). */
  viaGateway?: number;
}

export interface Target {
  name: string;
  value: number;
  /** How the value is shown: a ratio (×), a ratio as a signed change (+1.2%), or milliseconds. */
  unit: 'ratio' | 'change' | 'ms';
  goal: string;
  met: boolean;
}

export interface BenchResult {
  date: string;
  command: string;
  durationS: number;
  warmupS: number;
  /** os.loadavg() when the run started: other work on the machine makes every number noisier. */
  loadAverage: number[];
  versions: Versions;
  http: HttpCase[];
  routes: RoutesCase[];
  ws: WsCase[];
  targets: Target[];
}

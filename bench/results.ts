import type { HaResult } from './groups/ha.ts';
import type { BodyName } from './bodies.ts';
import type { PropagationCase } from './groups/route-latency.ts';
import type { LaunchResult } from './groups/launch.ts';
import type { EndToEndPropagationCase } from './groups/route-propagation.ts';
import type { SnapshotResult } from './groups/snapshot.ts';
import type { CpuPerRequest } from './load/cpu-per-request.ts';
import type { RedisBenchResult, RedisTest } from './load/redis-benchmark.ts';
import type { BulkResult, ConnectResult } from './load/tcp-load.ts';
import type { WrkResult } from './load/wrk.ts';
import type { TcpCounters } from './peers/gateway.ts';
import type { WsResult } from './load/ws-round-trips.ts';
import type { Versions } from './support/tools.ts';

export type HttpPeer = 'direct' | 'bare' | 'gateway' | 'gateway-bearer' | 'gateway-workers-2' | 'chp' | 'nginx' | 'caddy';
/** The peers that offer h2 on their HTTPS port. */
export type H2Peer = 'gateway' | 'nginx' | 'caddy';
export type WsPeer = 'direct' | 'gateway' | 'chp' | 'nginx' | 'caddy';
export type TcpPeer = 'direct' | 'gateway' | 'nginx-stream' | 'haproxy';
/** redis-benchmark runs direct, through the gateway and through nginx stream (the three). */
export type RedisPeer = Exclude<TcpPeer, 'haproxy'>;

export const HTTP_PEER_LABELS: Record<HttpPeer, string> = {
  direct: 'direct to upstream (plain HTTP)',
  bare: 'bare Node HTTPS server (ceiling)',
  gateway: 'gateway, public route (--workers 1)',
  'gateway-bearer': 'gateway, Bearer token, private route (--workers 1)',
  'gateway-workers-2': 'gateway, public route, --workers 2',
  chp: 'configurable-http-proxy (HTTPS)',
  nginx: 'nginx (HTTPS reverse proxy, 1 worker)',
  caddy: 'Caddy (HTTPS reverse proxy, GOMAXPROCS=1)',
};

export const H2_PEER_LABELS: Record<H2Peer, string> = {
  gateway: 'gateway, public route (--workers 1), h2',
  nginx: 'nginx (1 worker), h2',
  caddy: 'Caddy (GOMAXPROCS=1), h2',
};

export const WS_PEER_LABELS: Record<WsPeer, string> = {
  direct: 'direct (ws://)',
  gateway: 'gateway (wss://, public route)',
  chp: 'configurable-http-proxy (wss://)',
  nginx: 'nginx (wss://)',
  caddy: 'Caddy (wss://)',
};

export const TCP_PEER_LABELS: Record<TcpPeer, string> = {
  direct: 'direct (no proxy)',
  gateway: 'gateway, raw TCP route',
  'nginx-stream': 'nginx stream (1 worker)',
  haproxy: 'HAProxy mode tcp (1 thread)',
};

export const REDIS_PEERS: RedisPeer[] = ['direct', 'gateway', 'nginx-stream'];
export const REDIS_TESTS: RedisTest[] = ['SET', 'GET'];

export interface HttpCase {
  peer: HttpPeer;
  body: BodyName;
  wrk: WrkResult;
  /** Responses the gateway itself counted during the case, warm-up included (gateway cases only). */
  viaGateway?: number;
  /** The proxy's CPU time per request over `h2load --h1 -n N -c 50` (100 B body, every peer but direct). */
  cpu?: CpuPerRequest;
}

/** One peer over HTTP/2: req/s and CPU per request from one `h2load -n N -m 10` run, 100 B body. */
export interface H2Case {
  peer: H2Peer;
  h2: CpuPerRequest;
  /** Responses the gateway itself counted during the run and its warm-up (gateway only). */
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

export interface TcpBulkCase {
  peer: TcpPeer;
  bulk: BulkResult;
  /** What the gateway counted on the route during the case, warm-up included (gateway only). */
  viaGateway?: TcpCounters;
}

export interface TcpConnectCase {
  peer: TcpPeer;
  connect: ConnectResult;
  /** What the gateway counted on the route during the case, warm-up included (gateway only). */
  viaGateway?: TcpCounters;
}

export interface RedisCase {
  peer: RedisPeer;
  test: RedisTest;
  redis: RedisBenchResult;
  /** Commands redis-server itself processed during the measured run (INFO's total_commands_processed). */
  commands: number;
  /** What the gateway counted on the route during the measured run (gateway only). */
  viaGateway?: TcpCounters;
}

export interface TcpResults {
  bulk: TcpBulkCase[];
  connect: TcpConnectCase[];
  redis: RedisCase[];
}

export interface Target {
  name: string;
  value: number;
  /** How the value is shown: a ratio (×), a ratio as a signed change (+1.2%), or milliseconds. */
  unit: 'ratio' | 'change' | 'ms' | 'MB/s';
  goal: string;
  met: boolean;
  /** Shown for information, not held to a goal (the ratios of the 1 MiB body). */
  informational?: boolean;
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
  /** Number of requests (h2load -n) of each CPU-per-request and HTTP/2 run. */
  cpuRequests: number;
  /** Rounds of the HTTP throughput, CPU and HTTP/2 cases over every peer. */
  throughputRounds: number;
  h2: H2Case[];
  routes: RoutesCase[];
  ws: WsCase[];
  tcp: TcpResults;
  /** Route propagation, control's route log → the gateway's live table, per table size. */
  propagation: PropagationCase[];
  /** Route propagation end to end in real processes: an agent's endpoint POST → the gateway serves the route. */
  propagationE2e: EndToEndPropagationCase[];
  /** Launch → active of the busybox app through a real agent and Docker Engine (issue 5). */
  launch: LaunchResult;
  /** Launch → Jupyter answering, the Jupyter app with its image present (issue 7). */
  jupyterLaunch: LaunchResult;
  /** Workspace snapshot and restore throughput through a real agent and control (issue 6). */
  snapshot: SnapshotResult;
  /** Several controls on PostgreSQL (issue 17): launch → active per set-up, store operations, route changes between controls. */
  ha: HaResult;
  targets: Target[];
}

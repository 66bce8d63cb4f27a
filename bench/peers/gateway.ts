import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { adopt } from '../support/children.ts';
import { getText } from '../support/net.ts';
import type { TlsFiles } from './tls-files.ts';

export interface BenchHttpRoute {
  id: string;
  target: string;
  public: boolean;
}

/** A raw TCP route (`tls: none`, the default): `port`, or one from --tcp-ports. */
export interface BenchTcpRoute {
  id: string;
  kind: 'tcp';
  /** tcp://127.0.0.1:PORT */
  target: string;
  port?: number;
}

export type BenchRoute = BenchHttpRoute | BenchTcpRoute;

/** What the gateway counted for one TCP route (wharf_gateway_tcp_connections_total, wharf_gateway_bytes_total). */
export interface TcpCounters {
  connections: number;
  /** From clients. */
  bytesIn: number;
  /** To clients. */
  bytesOut: number;
}

export interface GatewayOptions {
  /**
   * --workers, always given: the default is one per core, which would make the gateway's
   * numbers depend on the machine. The comparison rows run 1, against one nginx worker and
   * Caddy at GOMAXPROCS=1.
   */
  workers: number;
  /** A JWKS (JSON) for Bearer-token routes. */
  jwks?: string;
}

export interface Gateway {
  httpsPort: number;
  /** The process started: with several workers, their supervisor (the workers are its children). */
  pid: number;
  adminPort: number;
  /**
   * Responses the gateway counted (wharf_gateway_requests_total) with a 2xx or 101 status,
   * summed over the routes `route` accepts: proof that a case really went through it.
   */
  served(route?: (id: string) => boolean): Promise<number>;
  tcpCounters(route: string): Promise<TcpCounters>;
  /** The port each raw TCP route listens on (GET /routes on the admin port). */
  tcpPorts: Record<string, number>;
  stop(): Promise<void>;
}

/** Runs the real `wharf gateway` process with these routes, on the bench's certificate. */
export async function startGatewayPeer(dir: string, tls: TlsFiles, name: string, routes: BenchRoute[], options: GatewayOptions): Promise<Gateway> {
  const routesFile = join(dir, `routes-${name}.json`);
  writeFileSync(routesFile, JSON.stringify({ routes }));
  const args = ['--routes', routesFile, '--workers', String(options.workers), '--log-level', 'warn'];
  if (options.jwks) {
    const jwksFile = join(dir, `jwks-${name}.json`);
    writeFileSync(jwksFile, options.jwks);
    args.push('--jwks', jwksFile);
  }
  const gw: GatewayProcess = await startGateway({ home: tls.home, args });
  const forget = adopt(gw.child);
  const failed = (what: string, err: unknown) => {
    const state = gw.child.exitCode ?? gw.child.signalCode;
    return new Error(`${what} failed (${(err as Error).message}); gateway ${state === null ? 'still running' : `exited: ${state}`}; its output:\n${gw.output().slice(-4000)}`);
  };
  const read = async () => {
    try {
      return await metrics(gw.adminPort);
    } catch (err) {
      throw failed("reading the gateway's /metrics", err);
    }
  };
  const stop = async () => {
    await gw.stop();
    forget();
  };
  let tcpPorts: Record<string, number> = {};
  const tcpIds = routes.filter((r) => 'kind' in r && r.kind === 'tcp').map((r) => r.id);
  if (tcpIds.length) {
    try {
      tcpPorts = await listeningTcpPorts(gw.adminPort, tcpIds);
    } catch (err) {
      await stop();
      throw failed('waiting for the TCP routes to listen', err);
    }
  }
  return {
    httpsPort: gw.httpsPort,
    pid: gw.child.pid!,
    adminPort: gw.adminPort,
    async served(route = () => true) {
      return servedCount(await read(), route);
    },
    async tcpCounters(route) {
      return tcpCounters(await read(), route);
    },
    tcpPorts,
    stop,
  };
}

/** Waits until /routes shows every one of these raw TCP routes active and listening. */
async function listeningTcpPorts(adminPort: number, ids: string[], timeoutMs = 10_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getText(`http://127.0.0.1:${adminPort}/routes`);
    if (res.status !== 200) throw new Error(`/routes answered ${res.status}`);
    const { routes } = JSON.parse(res.body) as { routes: { id: string; port?: number | null; state?: string }[] };
    const ports: Record<string, number> = {};
    for (const r of routes) if (ids.includes(r.id) && typeof r.port === 'number' && r.state === 'active') ports[r.id] = r.port;
    if (Object.keys(ports).length === ids.length) return ports;
    if (Date.now() > deadline) throw new Error(`TCP routes not listening after ${timeoutMs} ms: ${JSON.stringify(routes.filter((r) => ids.includes(r.id)))}`);
    await sleep(50);
  }
}

async function metrics(adminPort: number): Promise<string> {
  const res = await getText(`http://127.0.0.1:${adminPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.body;
}

const SAMPLE = /^wharf_gateway_requests_total\{([^}]*)\} (\S+)$/gm;

export function servedCount(text: string, route: (id: string) => boolean): number {
  let total = 0;
  for (const [, labels, value] of text.matchAll(SAMPLE)) {
    const id = /route="([^"]*)"/.exec(labels)?.[1];
    const code = Number(/code="(\d+)"/.exec(labels)?.[1]);
    if (id !== undefined && route(id) && ((code >= 200 && code < 300) || code === 101)) total += Number(value);
  }
  return total;
}

const sampleSum = (text: string, metric: string, labels: Record<string, string>): number => {
  const re = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
  let total = 0;
  for (const [, l, v] of text.matchAll(re)) {
    if (Object.entries(labels).every(([k, want]) => new RegExp(`(^|,)${k}="${want}"`).test(l))) total += Number(v);
  }
  return total;
};

export function tcpCounters(text: string, route: string): TcpCounters {
  return {
    connections: sampleSum(text, 'wharf_gateway_tcp_connections_total', { route }),
    bytesIn: sampleSum(text, 'wharf_gateway_bytes_total', { route, direction: 'in' }),
    bytesOut: sampleSum(text, 'wharf_gateway_bytes_total', { route, direction: 'out' }),
  };
}

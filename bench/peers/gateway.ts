import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { adopt } from '../support/children.ts';
import { getText } from '../support/net.ts';
import type { TlsFiles } from './tls-files.ts';

export interface BenchRoute {
  id: string;
  target: string;
  public: boolean;
}

export interface Gateway {
  httpsPort: number;
  adminPort: number;
  /**
   * Responses the gateway counted (wharf_gateway_requests_total) with a 2xx or 101 status,
   * summed over the routes `route` accepts: proof that a case really went through it.
   */
  served(route?: (id: string) => boolean): Promise<number>;
  stop(): Promise<void>;
}

/** Runs the real `wharf gateway` process with these routes, on the bench's certificate. */
export async function startGatewayPeer(dir: string, tls: TlsFiles, name: string, routes: BenchRoute[], jwks?: string): Promise<Gateway> {
  const routesFile = join(dir, `routes-${name}.json`);
  writeFileSync(routesFile, JSON.stringify({ routes }));
  const args = ['--routes', routesFile, '--log-level', 'warn'];
  if (jwks) {
    const jwksFile = join(dir, `jwks-${name}.json`);
    writeFileSync(jwksFile, jwks);
    args.push('--jwks', jwksFile);
  }
  const gw: GatewayProcess = await startGateway({ home: tls.home, args });
  const forget = adopt(gw.child);
  return {
    httpsPort: gw.httpsPort,
    adminPort: gw.adminPort,
    async served(route = () => true) {
      try {
        return servedCount(await metrics(gw.adminPort), route);
      } catch (err) {
        const state = gw.child.exitCode ?? gw.child.signalCode;
        throw new Error(`reading the gateway's /metrics failed (${(err as Error).message}); gateway ${state === null ? 'still running' : `exited: ${state}`}; its output:\n${gw.output().slice(-4000)}`);
      }
    },
    async stop() {
      await gw.stop();
      forget();
    },
  };
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

import { BODIES, BODY_NAMES, type BodyName } from './bodies.ts';
import type { BenchResult, HttpPeer, Target } from './results.ts';

type Measured = Pick<BenchResult, 'http' | 'routes' | 'ws'>;

function rps(r: Measured, peer: HttpPeer, body: BodyName): number {
  return r.http.find((c) => c.peer === peer && c.body === body)?.wrk.rps ?? NaN;
}

/** The goals the gateway is held to (DESIGN.md), each with the measured value. */
export function evaluateTargets(r: Measured): Target[] {
  const targets: Target[] = [];
  const ratio = (name: string, value: number, min: number) =>
    targets.push({ name, value, unit: 'ratio', goal: `≥ ${min}`, met: value >= min });
  for (const body of BODY_NAMES) {
    const gw = rps(r, 'gateway', body);
    const label = BODIES[body].label;
    ratio(`gateway / bare Node HTTPS (ceiling), ${label}`, gw / rps(r, 'bare', body), 0.5);
    ratio(`gateway / nginx, ${label}`, gw / rps(r, 'nginx', body), 0.35);
    ratio(`gateway / configurable-http-proxy, ${label}`, gw / rps(r, 'chp', body), 3);
  }
  const one = r.routes.find((c) => c.routes === 1)?.wrk.rps ?? NaN;
  const many = r.routes.find((c) => c.routes === 10_000)?.wrk.rps ?? NaN;
  const tableRatio = many / one;
  targets.push({ name: 'req/s with 10,000 routes vs 1 route', value: tableRatio, unit: 'change', goal: 'within ±5%', met: Math.abs(1 - tableRatio) <= 0.05 });
  const p99 = (peer: string) => r.ws.find((c) => c.peer === peer)?.ws.p99Ms ?? NaN;
  const added = p99('gateway') - p99('direct');
  targets.push({ name: 'WebSocket added p99 (gateway − direct)', value: added, unit: 'ms', goal: '≤ 1 ms', met: added <= 1 });
  return targets;
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Route } from '../../protocol/route.ts';
import { RouteLog } from './route-log.ts';
import { createRouteStreamHandler } from './route-stream-handler.ts';

/**
 * The consumer end of the route stream, as the gateway's RouteProvider has it. Passed in, so
 * that control does not import the gateway (DESIGN.md: parts meet only over HTTP); the bench
 * gives `(url, key) => new ControlProvider({ controlUrl: url, key, log })`.
 */
export interface RouteStreamConsumer {
  start(apply: (routes: Route[], errors: unknown[]) => void): Promise<void>;
  close(): void;
}

export interface RouteLatencyOptions {
  connect: (controlUrl: string, key: string) => RouteStreamConsumer;
  /** Measured changes of each kind (add, then remove). */
  samples?: number; // 1_000
  /** Routes in the table while measuring: a delta is applied onto a table this size. */
  routes?: number; // 1_000
  /** Unmeasured add/remove pairs first (JIT, connection warm-up). */
  warmup?: number; // 50
  /** Longest wait for one change to arrive before the run fails. */
  sampleTimeoutMs?: number; // 5_000
}

/** Milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RouteLatencyResult {
  routes: number;
  /** From `RouteLog.upsert()` of a new route to the consumer's `apply` holding it. */
  add: LatencySummary;
  /** From `RouteLog.remove()` to the consumer's `apply` without it. */
  remove: LatencySummary;
}

/**
 * Time from a change in control's route log to the gateway's provider applying it, over a
 * real loopback socket: control's half of "endpoint registration to a live route" (issue 4's
 * benchmark, target p99 under 10 ms). A benchmark helper: it asserts no timing itself.
 */
export async function measureRouteLatency(options: RouteLatencyOptions): Promise<RouteLatencyResult> {
  const samples = options.samples ?? 1_000;
  const size = options.routes ?? 1_000;
  const warmup = options.warmup ?? 50;
  const sampleTimeoutMs = options.sampleTimeoutMs ?? 5_000;
  const key = `bench_${randomBytes(12).toString('hex')}`;
  const log = new RouteLog();
  log.replace(Array.from({ length: size }, (_, i) => benchRoute(`fixed-${i}`, 10_000 + (i % 50_000))));
  const handler = createRouteStreamHandler({ routes: log, authorize: (req) => req.headers.authorization === `Bearer ${key}` });
  const server = createServer((req, res) => void handler.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  let waiting: { check: (routes: Route[]) => boolean; resolve: (at: number) => void } | undefined;
  const consumer = options.connect(`http://127.0.0.1:${port}`, key);
  try {
    await consumer.start((routes) => {
      const at = performance.now();
      if (waiting?.check(routes)) waiting.resolve(at);
    });
    const change = async (run: () => void, check: (routes: Route[]) => boolean): Promise<number> => {
      let timer: NodeJS.Timeout | undefined;
      const arrived = new Promise<number>((resolve, reject) => {
        waiting = { check, resolve };
        timer = setTimeout(() => reject(new Error(`a route change did not arrive within ${sampleTimeoutMs} ms`)), sampleTimeoutMs);
      });
      const began = performance.now();
      run();
      try {
        return (await arrived) - began;
      } finally {
        clearTimeout(timer);
        waiting = undefined;
      }
    };
    const add: number[] = [];
    const remove: number[] = [];
    for (let i = 0; i < warmup + samples; i++) {
      const id = `lat-${i}`;
      const a = await change(() => log.upsert(benchRoute(id, 9_000)), (routes) => routes.some((r) => r.id === id));
      const r = await change(() => log.remove(id), (routes) => !routes.some((r) => r.id === id));
      if (i >= warmup) {
        add.push(a);
        remove.push(r);
      }
    }
    return { routes: size, add: summarize(add), remove: summarize(remove) };
  } finally {
    consumer.close();
    handler.close();
    await closeServer(server);
  }
}

function benchRoute(id: string, port: number): Route {
  return { id, kind: 'http', target: `http://127.0.0.1:${port}`, instance: id, public: false, status: 'active', headers: {} };
}

export function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const at = (q: number) => (n ? sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] : NaN);
  return {
    count: n,
    min: n ? sorted[0] : NaN,
    mean: n ? sorted.reduce((s, v) => s + v, 0) / n : NaN,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: n ? sorted[n - 1] : NaN,
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

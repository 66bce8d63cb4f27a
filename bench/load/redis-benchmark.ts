import { spawn } from 'node:child_process';
import { adopt } from '../support/children.ts';

export type RedisTest = 'SET' | 'GET';

export interface RedisBenchOptions {
  port: number;
  test: RedisTest;
  requests: number;
  /** Parallel connections; default 50. */
  clients?: number;
  /** Kill redis-benchmark after this long (it spins forever when it cannot reach redis). */
  timeoutMs: number;
}

export interface RedisBenchResult {
  test: RedisTest;
  requests: number;
  clients: number;
  /** Wall-clock seconds of the redis-benchmark process. */
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Lines redis-benchmark printed besides its CSV (error replies, lost connections). */
  errors: number;
  errorLines: string[];
}

const HEAD = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"';

/** Parses `redis-benchmark --csv` output: the header, one row per test, anything else an error. */
export function parseRedisCsv(out: string, test: RedisTest): Pick<RedisBenchResult, 'rps' | 'p50Ms' | 'p99Ms' | 'errors' | 'errorLines'> {
  const lines = out.split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean);
  const row = lines.find((l) => l.startsWith(`"${test}",`));
  if (!lines.includes(HEAD) || !row) throw new Error(`redis-benchmark printed no ${test} result:\n${out}`);
  const cells = row.split(',').map((c) => Number(c.replace(/"/g, '')));
  const errorLines = lines.filter((l) => l !== HEAD && l !== row);
  return { rps: cells[1], p50Ms: cells[4], p99Ms: cells[6], errors: errorLines.length, errorLines };
}

/** One `redis-benchmark -t TEST -n N -c 50 -q --csv` (3-byte values, one key, no pipelining). */
export function runRedisBenchmark(o: RedisBenchOptions): Promise<RedisBenchResult> {
  const clients = o.clients ?? 50;
  const args = ['-h', '127.0.0.1', '-p', String(o.port), '-t', o.test.toLowerCase(), '-n', String(o.requests), '-c', String(clients), '-q', '--csv'];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt(child);
    let out = '';
    let why = '';
    const kill = (reason: string) => {
      why ||= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`still running after ${o.timeoutMs} ms`), o.timeoutMs);
    const take = (c: Buffer) => {
      out += c.toString();
      // It does not give up: it retries the connection in a busy loop.
      if (/Could not connect/.test(out)) kill('it could not connect');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new Error(`redis-benchmark could not run (${err.message}); run .ci/run or apt-get install -y redis-server`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      if (why || code !== 0) return reject(new Error(`redis-benchmark ${args.join(' ')} failed (${why || `exit ${code ?? signal}`}):\n${out}`));
      try {
        resolve({ test: o.test, requests: o.requests, clients, seconds, ...parseRedisCsv(out, o.test) });
      } catch (err) {
        reject(err);
      }
    });
  });
}

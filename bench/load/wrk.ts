import { spawn } from 'node:child_process';
import { adopt } from '../support/children.ts';

export interface WrkOptions {
  url: string;
  durationS: number;
  connections?: number;
  threads?: number;
  headers?: Record<string, string>;
  /** A Lua script, and the arguments its init(args) gets. */
  script?: string;
  scriptArgs?: string[];
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  bytesRead: number;
  /** wrk's "Non-2xx or 3xx responses": in fact every status ≥ 400. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** non2xx plus every socket error. */
  errors: number;
}

const TIME_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const SIZE: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function need(match: RegExpExecArray | null, what: string, out: string): RegExpExecArray {
  if (!match) throw new Error(`wrk output has no ${what}:\n${out}`);
  return match;
}

/** Parses the report of `wrk --latency`. */
export function parseWrk(out: string): WrkResult {
  const percentile = (p: number) => {
    const m = need(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(out), `${p}% latency`, out);
    return Number(m[1]) * TIME_MS[m[2]];
  };
  const total = need(/(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read/.exec(out), 'request count', out);
  const rps = need(/^Requests\/sec:\s+([\d.]+)/m.exec(out), 'Requests/sec', out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = {
    connect: Number(sock?.[1] ?? 0),
    read: Number(sock?.[2] ?? 0),
    write: Number(sock?.[3] ?? 0),
    timeout: Number(sock?.[4] ?? 0),
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    requests: Number(total[1]),
    seconds: (Number(total[2]) * TIME_MS[total[3]]) / 1000,
    rps: Number(rps[1]),
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    bytesRead: Math.round(Number(total[4]) * SIZE[total[5]]),
    non2xx,
    socketErrors,
    errors: non2xx + socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout,
  };
}

const canonical = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

/** One wrk run (keep-alive, by default 1 thread and 50 connections), parsed. */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  // wrk takes whole seconds only.
  const seconds = Math.max(1, Math.round(o.durationS));
  const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections ?? 50), '-d', `${seconds}s`, '--latency'];
  // wrk adds its own Host unless it sees exactly "Host": a lower-case one would make two.
  for (const [name, value] of Object.entries(o.headers ?? {})) args.push('-H', `${canonical(name)}: ${value}`);
  if (o.script) args.push('-s', o.script);
  args.push(o.url);
  if (o.scriptArgs?.length) args.push('--', ...o.scriptArgs);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt(child);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', (err) => reject(new Error(`wrk could not run (${err.message}); run .ci/run or apt-get install -y nginx-light wrk`)));
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`wrk ${args.join(' ')} exited with ${code ?? signal}:\n${out}`));
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * Several runs as one: counts and seconds add up; the percentiles are the request-weighted
 * mean of each run's (wrk reports no histogram to merge exactly).
 */
export function combineWrk(runs: WrkResult[]): WrkResult {
  const sum = (f: (r: WrkResult) => number) => runs.reduce((n, r) => n + f(r), 0);
  const requests = sum((r) => r.requests);
  const seconds = sum((r) => r.seconds);
  const weighted = (f: (r: WrkResult) => number) => (requests ? sum((r) => f(r) * r.requests) / requests : 0);
  return {
    requests,
    seconds,
    rps: seconds ? requests / seconds : 0,
    p50Ms: weighted((r) => r.p50Ms),
    p99Ms: weighted((r) => r.p99Ms),
    bytesRead: sum((r) => r.bytesRead),
    non2xx: sum((r) => r.non2xx),
    socketErrors: {
      connect: sum((r) => r.socketErrors.connect),
      read: sum((r) => r.socketErrors.read),
      write: sum((r) => r.socketErrors.write),
      timeout: sum((r) => r.socketErrors.timeout),
    },
    errors: sum((r) => r.errors),
  };
}

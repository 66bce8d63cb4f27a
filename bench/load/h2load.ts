import { spawn } from 'node:child_process';
import { adopt } from '../support/children.ts';

export interface H2loadOptions {
  /** https://HOST:PORT/PATH: HOST is the Host (:authority) and the TLS server name sent. */
  url: string;
  /** 127.0.0.1:PORT, where the connections really go (the URL's host does not resolve). */
  connectTo: string;
  /** A fixed number of requests (-n), or a fixed time (-D, whole seconds: a warm-up). */
  load: { requests: number } | { durationS: number };
  /** Connections (-c); default 50. */
  clients?: number;
  /** HTTP/1.1 only (--h1); otherwise h2 is offered by ALPN, with `streams` per connection. */
  h1?: boolean;
  /** Concurrent streams per HTTP/2 connection (-m); default 10. Ignored with h1: it would pipeline. */
  streams?: number;
  headers?: Record<string, string>;
  /** Kill h2load after this long; default 5 minutes. */
  timeoutMs?: number;
}

export interface H2loadResult {
  /** The ALPN protocol negotiated (h2, http/1.1); null when no connection got that far. */
  protocol: string | null;
  /** Requests that got a whole response, whatever its status. */
  requests: number;
  /** Requests with a 2xx answer. */
  succeeded: number;
  /** Every request that did not succeed: 3xx–5xx answers, resets, timeouts, never sent. */
  errors: number;
  non2xx: number;
  seconds: number;
  rps: number;
  /** Mean time for a request (h2load prints no percentiles). */
  meanMs: number;
  /** Response bytes, headers and bodies. */
  bytesRead: number;
}

const TIME_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3 };

function need(match: RegExpExecArray | null, what: string, out: string): RegExpExecArray {
  if (!match) throw new Error(`h2load output has no ${what}:\n${out}`);
  return match;
}

/** Parses the summary h2load prints at the end of a run. */
export function parseH2load(out: string): H2loadResult {
  const finished = need(/^finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/m.exec(out), '"finished in" line', out);
  const counts = need(/^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(out), 'request counts', out);
  const codes = need(/^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(out), 'status codes', out);
  const traffic = need(/^traffic: \S+ \((\d+)\) total/m.exec(out), 'traffic', out);
  const mean = need(/^time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/m.exec(out), 'time for request', out);
  const total = Number(counts[1]);
  const succeeded = Number(counts[4]);
  return {
    protocol: /^Application protocol: (\S+)/m.exec(out)?.[1] ?? null,
    requests: Number(counts[3]),
    succeeded,
    errors: total - succeeded,
    non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
    seconds: (Number(finished[1]) * TIME_MS[finished[2]]) / 1000,
    rps: Number(finished[3]),
    meanMs: Number(mean[1]) * TIME_MS[mean[2]],
    bytesRead: Number(traffic[1]),
  };
}

/** The command line of one run: h2load's own defaults spelt out, so the report can quote it. */
export function h2loadArgs(o: H2loadOptions): string[] {
  const args = 'requests' in o.load ? ['-n', String(o.load.requests)] : ['-D', String(Math.max(1, Math.round(o.load.durationS)))];
  args.push('-c', String(o.clients ?? 50));
  if (o.h1) args.push('--h1');
  else args.push('-m', String(o.streams ?? 10));
  for (const [name, value] of Object.entries(o.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push('--connect-to', o.connectTo, o.url);
  return args;
}

/** One h2load run, parsed. */
export function runH2load(o: H2loadOptions): Promise<H2loadResult> {
  const args = h2loadArgs(o);
  const timeoutMs = o.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt(child);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => reject(new Error(`h2load could not run (${err.message}); run .ci/run or apt-get install -y nghttp2-client`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`h2load ${args.join(' ')} exited with ${code ?? signal}${signal === 'SIGKILL' ? ` (still running after ${timeoutMs} ms)` : ''}:\n${out}`));
      try {
        resolve(parseH2load(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

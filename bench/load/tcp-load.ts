import { spawn } from 'node:child_process';
import { adopt } from '../support/children.ts';

const BULK_CLIENT = new URL('./tcp-bulk-client.ts', import.meta.url).pathname;
const CONNECT_CLIENT = new URL('./tcp-connect-client.ts', import.meta.url).pathname;

export interface BulkOptions {
  /** Where the client connects: the sink itself or a proxy in front of it. */
  port: number;
  /** The sink's control port (always direct): its byte count, read at start and end. */
  controlPort: number;
  streams: number;
  durationS: number;
  warmupS: number;
  /** The buffer written over and over; default 256 KiB. */
  chunkBytes?: number;
}

export interface BulkResult {
  streams: number;
  /** Bytes the sink received during the measured window. */
  bytes: number;
  seconds: number;
  gbps: number;
  /** Connections that failed or closed before the end of the run. */
  errors: number;
}

export interface ConnectOptions {
  port: number;
  durationS: number;
  warmupS: number;
  /** Connections under way at once (1: strictly one after another). */
  concurrency: number;
}

export interface ConnectResult {
  concurrency: number;
  /** Measured connections: each opened, echoed one byte, closed. */
  connections: number;
  seconds: number;
  /** Connections per second. */
  rate: number;
  /** connect() to the echoed byte. */
  p50Ms: number;
  p99Ms: number;
  /** Connections refused, reset, closed or timed out before their echo, or a wrong echo. */
  errors: number;
}

/** Runs a load client script as its own process and parses the JSON line it prints. */
function runClient<T>(script: string, options: object, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    adopt(child);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => reject(err));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} ${JSON.stringify(options)} exited with ${code ?? signal}:\n${out}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        reject(new Error(`${script} printed no result:\n${out}`));
      }
    });
  });
}

const limitMs = (o: { durationS: number; warmupS: number }) => (o.durationS + o.warmupS) * 1000 + 30_000;

export const runBulk = (o: BulkOptions) => runClient<BulkResult>(BULK_CLIENT, o, limitMs(o));
export const runConnect = (o: ConnectOptions) => runClient<ConnectResult>(CONNECT_CLIENT, o, limitMs(o));

import WebSocket from 'ws';
import { percentile, Samples } from './percentiles.ts';

export interface WsRoundTripOptions {
  /** ws:// or wss:// on 127.0.0.1. */
  url: string;
  /** Host header and TLS server name (Node does not resolve *.apps.localhost). */
  host?: string;
  ca?: string;
  durationS: number;
  /** Round trips before this many seconds are not measured (JIT, TLS, pools warming up). */
  warmupS: number;
  messageBytes?: number;
}

export interface WsResult {
  roundTrips: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection failures, unexpected closes, and echoes that differ from what was sent. */
  errors: number;
}

/**
 * One connection doing strictly sequential round trips (send, wait for the echo, send
 * again): each sample is the latency a proxy adds to one message each way, with no queueing.
 */
export async function runWsRoundTrips(o: WsRoundTripOptions): Promise<WsResult> {
  const message = Buffer.alloc(o.messageBytes ?? 32, 'm');
  const secure = o.url.startsWith('wss:');
  const ws = new WebSocket(o.url, {
    perMessageDeflate: false,
    headers: o.host ? { host: o.host } : {},
    ...(secure ? { ca: o.ca, servername: o.host ?? 'localhost' } : {}),
  });
  const samples = new Samples();
  let errors = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`${o.url} (Host ${o.host ?? '-'}) refused the upgrade: ${res.statusCode}`)));
    });
  } catch (err) {
    ws.on('error', () => {});
    ws.terminate();
    throw err;
  }
  return new Promise<WsResult>((resolve) => {
    const start = performance.now();
    const measureFrom = start + o.warmupS * 1000;
    const end = measureFrom + o.durationS * 1000;
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      ws.removeAllListeners('close');
      ws.on('error', () => {});
      ws.close();
      const sorted = samples.sorted();
      resolve({
        roundTrips: samples.count,
        seconds: (performance.now() - Math.max(start, measureFrom)) / 1000,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        errors,
      });
    };
    const send = () => {
      sent = performance.now();
      ws.send(message, { binary: true });
    };
    ws.on('message', (data: WebSocket.RawData, isBinary) => {
      const now = performance.now();
      if (!isBinary || !Buffer.isBuffer(data) || !message.equals(data)) errors++;
      if (now >= measureFrom) samples.add(now - sent);
      if (now >= end) finish();
      else send();
    });
    ws.on('error', () => {
      errors++;
      finish();
    });
    ws.on('close', () => {
      errors++;
      finish();
    });
    send();
  });
}

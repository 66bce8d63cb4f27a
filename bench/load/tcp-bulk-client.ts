// The bulk sender of the raw TCP cases, as its own process (never the proxy's): opens
// `streams` connections and writes one fixed buffer to each as fast as the connection takes it
// (waiting for 'drain' whenever a write is buffered: backpressure, nothing piles up in memory)
// for warm-up plus duration. What counts is what reached the sink: its count is read from the
// sink's control port when the measurement starts and when it ends.
// Run as: node tcp-bulk-client.ts '{"port":…,"controlPort":…,"streams":…,"durationS":…,"warmupS":…}'
// Prints one JSON line: BulkResult.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BulkOptions, BulkResult } from './tcp-load.ts';

const o = JSON.parse(process.argv[2]) as BulkOptions;
const chunk = randomBytes(o.chunkBytes ?? 256 * 1024);

function sinkCount(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: o.controlPort });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (text += c));
    s.on('end', () => resolve(Number(text.trim())));
    s.on('error', reject);
  });
}

let stopping = false;
let errors = 0;
const sockets: net.Socket[] = [];

function open(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function pump(s: net.Socket): void {
  while (!stopping && !s.destroyed) {
    if (!s.write(chunk)) {
      s.once('drain', () => pump(s));
      return;
    }
  }
}

for (let i = 0; i < o.streams; i++) {
  const s = await open();
  // An error or a close before the end of the run is the proxy (or the sink) failing.
  s.on('error', () => {
    if (!stopping) errors++;
  });
  s.on('close', () => {
    if (!stopping) errors++;
  });
  // Nothing comes back on this connection; read anyway so that an answer cannot stall it.
  s.resume();
  sockets.push(s);
}
for (const s of sockets) pump(s);
await sleep(o.warmupS * 1000);
const [c0, t0] = [await sinkCount(), performance.now()];
await sleep(o.durationS * 1000);
const [c1, t1] = [await sinkCount(), performance.now()];
stopping = true;
for (const s of sockets) s.destroy();
const seconds = (t1 - t0) / 1000;
const bytes = c1 - c0;
const result: BulkResult = { streams: o.streams, bytes, seconds, gbps: (bytes * 8) / seconds / 1e9, errors };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);

// The connection-setup client of the raw TCP cases, as its own process: `concurrency` loops,
// each opening a connection, sending one byte, waiting for its echo, closing (a normal FIN,
// no reset) and starting over, for warm-up plus duration. A sample is the time from connect()
// to the echoed byte: TCP handshake, the proxy's accept and its own connect to the upstream,
// and one round trip through both.
// Run as: node tcp-connect-client.ts '{"port":…,"durationS":…,"warmupS":…,"concurrency":…}'
// Prints one JSON line: ConnectResult.
import net from 'node:net';
import { percentile, Samples } from './percentiles.ts';
import type { ConnectOptions, ConnectResult } from './tcp-load.ts';

const o = JSON.parse(process.argv[2]) as ConnectOptions;
const BYTE = Buffer.from('x');
const samples = new Samples();
let errors = 0;
const start = performance.now();
const measureFrom = start + o.warmupS * 1000;
const end = measureFrom + o.durationS * 1000;

/** One connection: resolves when its echo arrived (or it failed), not when it has closed. */
function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    const s = net.connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    const fail = () => {
      s.destroy();
      if (done) return;
      done = true;
      if (t0 >= measureFrom) errors++;
      resolve();
    };
    s.once('connect', () => s.write(BYTE));
    s.once('data', (c: Buffer) => {
      if (done) return;
      done = true;
      const t1 = performance.now();
      if (c.length !== 1 || c[0] !== BYTE[0]) {
        if (t0 >= measureFrom) errors++;
      } else if (t0 >= measureFrom) samples.add(t1 - t0);
      s.end();
      s.resume();
      resolve();
    });
    s.on('error', fail);
    s.once('close', fail);
    s.setTimeout(5_000, fail);
  });
}

async function loop(): Promise<void> {
  while (performance.now() < end) await once();
}

await Promise.all(Array.from({ length: o.concurrency }, loop));
const sorted = samples.sorted();
const seconds = (performance.now() - measureFrom) / 1000;
const result: ConnectResult = {
  concurrency: o.concurrency,
  connections: samples.count,
  seconds,
  rate: samples.count / seconds,
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  errors,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
// Sockets still closing must not hold the process (their FINs are under way).
process.exit(0);

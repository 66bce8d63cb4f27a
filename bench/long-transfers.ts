import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CHUNK, expectedSha256, startDigestApp, uploadPaced } from '../test/support/paced-body.ts';
import { startGatewayPeer } from './peers/gateway.ts';
import { makeTlsFiles } from './peers/tls-files.ts';
import { makeWorkDir } from './support/work-dir.ts';

/*
 * Long transfers through the gateway (issue 16, "Long uploads and downloads"): a client that
 * keeps sending is never cut off by a whole-request timer. One upload over HTTP/1.1, one over
 * HTTP/2 and one download, all at once, each paced at a fixed rate (1 GiB at 2 MiB/s by
 * default: about 8.5 minutes), each body checked by its sha256 at the other end. Too long
 * for `npm run bench`: `npm run bench:long` runs it and writes bench/LONG-TRANSFERS.md.
 */

const HOST = 'long.apps.localhost';

export interface LongTransferOptions {
  sizeMiB: number;
  rateMiBps: number;
  log?: (line: string) => void;
}

export interface Transfer {
  name: string;
  bytes: number;
  seconds: number;
  /** The body arrived whole: its length and sha256 are those sent. */
  intact: boolean;
  error?: string;
}

export interface LongTransferResult {
  sizeMiB: number;
  rateMiBps: number;
  transfers: Transfer[];
}

async function timed(name: string, bytes: number, run: () => Promise<{ length: number; sha256: string }>, sha256: string): Promise<Transfer> {
  const started = performance.now();
  try {
    const got = await run();
    return { name, bytes, seconds: (performance.now() - started) / 1000, intact: got.length === bytes && got.sha256 === sha256 };
  } catch (err) {
    return { name, bytes, seconds: (performance.now() - started) / 1000, intact: false, error: (err as Error).message };
  }
}

export async function runLongTransfers(o: LongTransferOptions): Promise<LongTransferResult> {
  const log = o.log ?? (() => {});
  const chunks = Math.max(1, Math.round((o.sizeMiB * 1024 * 1024) / CHUNK));
  const bytes = chunks * CHUNK;
  const rate = o.rateMiBps * 1024 * 1024;
  const sha256 = expectedSha256(chunks);
  const work = makeWorkDir();
  const tls = makeTlsFiles(work.sub('home'));
  const app = await startDigestApp(chunks, rate);
  const gw = await startGatewayPeer(work.sub('gateway'), tls, 'long', [{ id: 'long', target: `http://127.0.0.1:${(app.address() as AddressInfo).port}`, public: true }], { workers: 1 });
  log(`${(bytes / 2 ** 20).toFixed(0)} MiB each way at ${o.rateMiBps} MiB/s: about ${Math.round(bytes / rate)} s`);
  try {
    const upload = (http2: boolean) => async () => {
      const r = await uploadPaced({ port: gw.httpsPort, host: HOST, ca: tls.caPem, http2, chunks, rate, headers: { 'content-length': String(bytes) } });
      if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.slice(0, 200)}`);
      return JSON.parse(r.body) as { length: number; sha256: string };
    };
    const download = () => new Promise<{ length: number; sha256: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: gw.httpsPort, path: '/download', servername: HOST, ca: tls.caPem, agent: false, headers: { host: HOST } }, (res) => {
        const hash = createHash('sha256');
        let length = 0;
        res.on('data', (c: Buffer) => {
          hash.update(c);
          length += c.length;
        });
        res.on('end', () => resolve({ length, sha256: hash.digest('hex') }));
        res.on('error', reject);
      }).on('error', reject);
    });
    const transfers = await Promise.all([
      timed('upload, HTTP/1.1', bytes, upload(false), sha256),
      timed('upload, HTTP/2', bytes, upload(true), sha256),
      timed('download, HTTP/1.1', bytes, download, sha256),
    ]);
    for (const t of transfers) log(`  ${t.name}: ${t.intact ? 'intact' : `NOT intact${t.error ? ` (${t.error})` : ''}`} in ${t.seconds.toFixed(1)} s`);
    return { sizeMiB: bytes / 2 ** 20, rateMiBps: o.rateMiBps, transfers };
  } finally {
    await gw.stop();
    await new Promise((resolve) => app.close(resolve));
    work.remove();
  }
}

/** bench/LONG-TRANSFERS.md: the run's command, date and a table. */
export function longTransfersReport(r: LongTransferResult, command: string): string {
  return [
    '# Long transfers through the gateway',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Command: \`${command}\``,
    `- Node ${process.version}; the gateway with \`--workers 1\` and its defaults (no whole-request timer, \`--client-idle-timeout-ms\` 60 s), a public route to a Node app on loopback.`,
    `- Three transfers at once, each ${r.sizeMiB} MiB paced at ${r.rateMiBps} MiB/s in 64 KiB chunks; "intact": the receiving end saw the length and sha256 sent.`,
    '',
    '| Transfer | MiB | seconds | MiB/s | intact |',
    '| --- | ---: | ---: | ---: | --- |',
    ...r.transfers.map((t) => `| ${t.name} | ${(t.bytes / 2 ** 20).toFixed(0)} | ${t.seconds.toFixed(1)} | ${(t.bytes / 2 ** 20 / t.seconds).toFixed(2)} | ${t.intact ? 'yes' : `**no**${t.error ? ` (${t.error})` : ''}`} |`),
    '',
  ].join('\n');
}

export function writeLongTransfersReport(r: LongTransferResult, command: string): void {
  writeFileSync(new URL('./LONG-TRANSFERS.md', import.meta.url), longTransfersReport(r, command));
}

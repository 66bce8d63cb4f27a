import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { until } from '../../test/support/tcp.ts';
import { formatMs } from '../format.ts';
import { startAppStack } from '../support/app-stack.ts';
import type { BenchContext } from './context.ts';

/** Workspace size: 1 GiB in the full run (issue 6), 64 MiB in the smoke run. */
export function snapshotWorkspaceBytes(durationS: number): number {
  return durationS >= 5 ? 1024 ** 3 : 64 * 1024 ** 2;
}

/** A timed step; MB/s is 10^6 bytes per second of the workspace's uncompressed file bytes. */
export interface Throughput {
  seconds: number;
  mbPerS: number;
}

export interface SnapshotResult {
  /** Regular-file bytes in the workspace (uncompressed), what MB/s divides. */
  bytes: number;
  /** Regular files, and all entries (files, folders, symlinks) as `find | wc -l` counts them. */
  files: number;
  entries: number;
  symlinks: number;
  /** `du -sb` of the workspace (apparent sizes, folders included). */
  duBytes: number;
  /** The stored zstd blob. */
  compressedBytes: number;
  /**
   * On demand, while running: POST /instances/:id/snapshot sent → the snapshot listed by
   * GET /snapshots?instance=ID (polled every 20 ms). Includes the wait for the agent's next
   * heartbeat (WHARF_HEARTBEAT_S 0.2 here), which carries the request.
   */
  snapshot: Throughput;
  /** The agent's own share, from its console timestamps: "snapshot: reading" → "snapshot: stored as". */
  snapshotAgent: Throughput & { packSeconds: number; uploadSeconds: number };
  /**
   * Restore into a clone, from the agent's console timestamps: "restore: downloading" →
   * "restore: workspace … restored" (download + sha256 check, the member check pass, and
   * put-archive extraction into the volume by the Engine).
   */
  restore: Throughput & { downloadSeconds: number; checkSeconds: number; extractSeconds: number };
  /** The clone's POST /instances → active, minus the median of 3 launches of the same app without a restore. */
  restoreByLaunch: Throughput & { cloneLaunchSeconds: number; baselineLaunchSeconds: number };
  /**
   * The stop of the source after the on-demand snapshot: its workspace is unchanged, so the
   * stop re-reads and re-packs it to compute the sha256 and uploads 0 new bytes. Agent console
   * "snapshot: reading" → "snapshot: unchanged workspace"; the stop's full snapshot with an
   * upload costs what `snapshotAgent` does.
   */
  stopUnchanged: { seconds: number; uploadedBytes: number };
  /** The restored clone holds the same files: count, entries, symlinks and byte totals equal. */
  verified: boolean;
  /** Generation time (not counted anywhere above) and the machine's load when the run started. */
  generateSeconds: number;
  loadAverage: string;
}

const LABEL = 'wharf.bench=snapshot';
const WS = '/root/workspace';
const MARK = '.generated';

/*
 * The workspace generator, run by the app's command (busybox sh) before it idles, only when
 * the workspace has no MARK yet (a restored clone has one): a third incompressible (4 large
 * files from /dev/urandom), a third log-like text (8 files by awk, compresses about 3:1 with
 * zstd), a third small files of 4–64 KiB (slices of a random and a text pool) in 448 folders,
 * every 50th with a symlink next to it.
 */
const GENERATOR = String.raw`set -e
W=$1; T=$2
cd $W
third=$((T / 3))
mkdir -p big logs small
q=$((third / 4))
for i in 1 2 3 4; do head -c $q /dev/urandom > big/random-$i.bin & done
tq=$((third / 8))
for i in 1 2 3 4 5 6 7 8; do
  awk -v n=$tq -v seed=$i 'BEGIN { srand(seed); lv[0]="INFO"; lv[1]="WARN"; lv[2]="DEBUG"; lv[3]="ERROR"; b=0; t=1700000000+seed*1000000;
    while (b < n) { t += int(rand()*3); s = sprintf("%d.%03d %s worker-%d request id=%04x%04x path=/api/v1/items/%d status=%d bytes=%d ms=%.2f\n", t, int(rand()*1000), lv[int(rand()*4)], int(rand()*16), int(rand()*65536), int(rand()*65536), int(rand()*100000), 200+int(rand()*3)*100, int(rand()*65536), rand()*250); printf "%s", s; b += length(s) } }' > logs/app-$i.log &
done
head -c 8388608 /dev/urandom > .pool-r
wait
cat logs/*.log | head -c 8388608 > .pool-t
awk -v n=$third 'BEGIN { srand(7); b=0; i=0; while (b < n) { kb = 4 + int(rand()*61); if (b + kb*1024 > n) kb = int((n-b)/1024); if (kb < 1) break; print i, kb, int(rand()*(8192-kb)), int(rand()*2); b += kb*1024; i++ } }' > .plan
while read i kb off kind; do
  d=small/d$((i % 64))/e$((i % 7))
  if [ ! -d $d ]; then mkdir -p $d; fi
  if [ $kind = 0 ]; then p=.pool-r; else p=.pool-t; fi
  dd if=$p of=$d/f$i.dat bs=1024 skip=$off count=$kb 2>/dev/null
  if [ $((i % 50)) = 0 ]; then ln -s f$i.dat $d/link-$i; fi
done < .plan
rm -f .pool-r .pool-t .plan
touch ${MARK}
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;

function dexec(id: string, script: string): string {
  return execFileSync('docker', ['exec', `wharf-${id}`, 'sh', '-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** What must match between the source and the restored clone. */
function census(id: string) {
  const out = dexec(id, [
    `cd ${WS}`,
    'echo files $(find . -type f | wc -l)',
    'echo entries $(find . | wc -l)',
    'echo symlinks $(find . -type l | wc -l)',
    'echo bytes $(find . -type f -exec stat -c %s {} + | awk \'{ s += $1 } END { printf "%d", s }\')',
    'echo du $(du -sb . | cut -f1)',
  ].join('\n'));
  const v = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, n]) => [k, Number(n)]));
  return { files: v.files, entries: v.entries, symlinks: v.symlinks, bytes: v.bytes, du: v.du };
}

interface ConsoleLine { at: string; text: string }

/** The `at` (ms) of the first line after `from` matching `re`; NaN when there is none. */
function lineAt(lines: ConsoleLine[], re: RegExp, from = 0): { ms: number; index: number } {
  const index = lines.findIndex((l, i) => i >= from && re.test(l.text));
  return { ms: index < 0 ? NaN : Date.parse(lines[index].at), index };
}

/**
 * Snapshot and restore throughput of a busybox app's workspace of mixed files, in real
 * processes: a `wharf control`, a `wharf agent` on the local Docker Engine, and the bench as
 * the user over control's API. The workspace is generated inside the app's volume before
 * anything is timed; the page cache holds it (as it would for a workspace just worked in).
 */
export async function runSnapshot(ctx: Pick<BenchContext, 'durationS' | 'log' | 'work'>): Promise<SnapshotResult> {
  const size = snapshotWorkspaceBytes(ctx.durationS);
  const home = ctx.work.sub('snapshot-home');
  const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const stack = await startAppStack({ home, queue: 'bench-snapshot', label: LABEL, image: 'busybox', agentEnv: { WHARF_HEARTBEAT_S: '0.2' } });
  const { api } = stack;
  try {
    const consoleOf = async (id: string) => (await api('GET', `/instances/${id}/console?limit=10000`) as { lines: ConsoleLine[] }).lines;
    const statusOf = async (id: string) => (await api('GET', `/instances/${id}`)).status as string;
    const launch = async (config: unknown) => {
      const t0 = performance.now();
      const { id } = await api('POST', '/instances', config) as { id: string };
      let status = '';
      await until(`instance ${id} leaves queued/starting`, async () => {
        status = await statusOf(id);
        return status !== 'queued' && status !== 'starting';
      }, 600_000, 10);
      if (status !== 'active') throw new Error(`instance ${id} is ${status}: ${(await api('GET', `/instances/${id}`)).statusReason}`);
      return { id, seconds: (performance.now() - t0) / 1000 };
    };
    const stop = async (id: string) => {
      await api('POST', `/instances/${id}/stop`);
      await until(`instance ${id} stops`, async () => ['stopped', 'failed'].includes(await statusOf(id)), 600_000, 50);
    };
    const quoted = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const base = {
      app: 'container', name: 'bench-snapshot', queue: 'bench-snapshot', image: 'wharf/busybox:local',
      routing: { mode: 'none' }, workspace: { path: WS },
    };
    const config = {
      ...base,
      files: [{ path: '/bench/generate.sh', content: GENERATOR, mode: '0755' }],
      command: `sh -c ${quoted(`if [ ! -e ${WS}/${MARK} ]; then sh /bench/generate.sh ${WS} ${size} > /bench/generate.log 2>&1 || echo generate failed >> /bench/generate.log; fi; exec sleep 100000`)}`,
    };

    // Baseline: the same app, nothing generated, nothing restored (the first launch warms up).
    const baseline: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { id, seconds } = await launch({ ...base, command: 'sleep 100000' });
      if (i > 0) baseline.push(seconds);
      await stop(id);
    }

    // The source, its workspace generated before anything is timed.
    const { id: source } = await launch(config);
    const g0 = performance.now();
    await until('the workspace is generated', () => {
      const out = dexec(source, `test -e ${WS}/${MARK} && echo done; test -e /bench/generate.log && cat /bench/generate.log; true`);
      if (/generate failed|rror/.test(out)) throw new Error(`generating the workspace failed: ${out}`);
      return out.startsWith('done');
    }, 900_000, 250);
    const generateSeconds = (performance.now() - g0) / 1000;
    execFileSync('sync');
    const before = census(source);

    // On-demand snapshot while running.
    const listed = async () => (await api('GET', `/snapshots?instance=${source}`)).snapshots as { id: string; size: number }[];
    const count0 = (await listed()).length;
    const s0 = performance.now();
    await api('POST', `/instances/${source}/snapshot`);
    let snaps: { id: string; size: number }[] = [];
    await until('the on-demand snapshot is listed', async () => (snaps = await listed()).length > count0, 900_000, 20);
    const snapshotSeconds = (performance.now() - s0) / 1000;
    const compressedBytes = snaps[0].size;
    // Console lines arrive in batches: wait for the step's last one.
    const consoleUntil = async (id: string, re: RegExp, n = 1) => {
      let lines: ConsoleLine[] = [];
      await until(`console of ${id} shows ${re}`, async () => (lines = await consoleOf(id)).filter((l) => re.test(l.text)).length >= n, 30_000, 50);
      return lines;
    };
    const srcLines = await consoleUntil(source, /^snapshot: (stored as|unchanged workspace)/);
    const read = lineAt(srcLines, /^snapshot: reading the workspace/);
    const packed = lineAt(srcLines, /^snapshot: \d+ file\(s\)/, read.index);
    const uploading = lineAt(srcLines, /^snapshot: uploading/, packed.index);
    const stored = lineAt(srcLines, /^snapshot: stored as/, packed.index);

    // The stop: an unchanged workspace, re-packed, 0 new bytes.
    await stop(source);
    const stopLines = await consoleUntil(source, /^snapshot: (stored as|unchanged workspace)/, 2);
    const read2 = lineAt(stopLines, /^snapshot: reading the workspace/, stored.index + 1);
    const unchanged = lineAt(stopLines, /^snapshot: (unchanged workspace|stored as)/, read2.index);
    const uploadedOnStop = /^snapshot: unchanged/.test(stopLines[unchanged.index]?.text ?? '') ? 0 : compressedBytes;

    // Restore into a clone.
    const cloneConfig = await api('POST', `/instances/${source}/clone`);
    const { id: clone, seconds: cloneLaunchSeconds } = await launch(cloneConfig);
    const cloneLines = await consoleUntil(clone, /^restore: workspace .* restored/);
    const r0 = lineAt(cloneLines, /^restore: downloading/);
    const r1 = lineAt(cloneLines, /^restore: downloaded/, r0.index);
    const r2 = lineAt(cloneLines, /^restore: \d+ member\(s\) checked/, r1.index);
    const r3 = lineAt(cloneLines, /^restore: workspace .* restored/, r2.index);
    const after = census(clone);
    const verified = after.files === before.files && after.entries === before.entries && after.symlinks === before.symlinks && after.bytes === before.bytes && after.du === before.du;
    if (!verified) ctx.log(`  snapshot: the restored workspace differs: source ${JSON.stringify(before)}, clone ${JSON.stringify(after)}`);

    const bytes = before.bytes;
    const agentSeconds = (stored.ms - read.ms) / 1000;
    const restoreSeconds = (r3.ms - r0.ms) / 1000;
    const baselineLaunchSeconds = median(baseline);
    const byLaunch = cloneLaunchSeconds - baselineLaunchSeconds;
    const result: SnapshotResult = {
      bytes, files: before.files, entries: before.entries, symlinks: before.symlinks, duBytes: before.du, compressedBytes,
      snapshot: { seconds: snapshotSeconds, mbPerS: mbps(bytes, snapshotSeconds) },
      snapshotAgent: { seconds: agentSeconds, mbPerS: mbps(bytes, agentSeconds), packSeconds: (packed.ms - read.ms) / 1000, uploadSeconds: (stored.ms - uploading.ms) / 1000 },
      restore: {
        seconds: restoreSeconds, mbPerS: mbps(bytes, restoreSeconds),
        downloadSeconds: (r1.ms - r0.ms) / 1000, checkSeconds: (r2.ms - r1.ms) / 1000, extractSeconds: (r3.ms - r2.ms) / 1000,
      },
      restoreByLaunch: { seconds: byLaunch, mbPerS: mbps(bytes, byLaunch), cloneLaunchSeconds, baselineLaunchSeconds },
      stopUnchanged: { seconds: (unchanged.ms - read2.ms) / 1000, uploadedBytes: uploadedOnStop },
      verified, generateSeconds, loadAverage,
    };
    const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
    ctx.log(`  workspace snapshot/restore, ${mb(bytes)} in ${before.files} files (${mb(compressedBytes)} zstd): snapshot ${result.snapshot.mbPerS.toFixed(0)} MB/s (${result.snapshot.seconds.toFixed(2)} s request → listed; pack ${result.snapshotAgent.packSeconds.toFixed(2)} s, upload ${result.snapshotAgent.uploadSeconds.toFixed(2)} s), restore ${result.restore.mbPerS.toFixed(0)} MB/s (${result.restore.seconds.toFixed(2)} s: download ${result.restore.downloadSeconds.toFixed(2)}, check ${result.restore.checkSeconds.toFixed(2)}, extract ${result.restore.extractSeconds.toFixed(2)}; launch − baseline ${formatMs(byLaunch * 1000)}); unchanged stop re-pack ${result.stopUnchanged.seconds.toFixed(2)} s; ${verified ? 'verified' : 'MISMATCH'} (MB = 10^6 bytes; load ${loadAverage})`);
    return result;
  } finally {
    await stack.stop();
    // The snapshot blobs are as large as the workspace's zstd: not worth keeping.
    rmSync(join(home, 'snapshots'), { recursive: true, force: true });
  }
}

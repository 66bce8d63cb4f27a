import type { Logger } from 'pino';
import type { InstanceStatus } from '../../protocol/instance-status.ts';
import type { Clock, Store } from '../store/store.ts';
import type { BlobStore } from './blob-store.ts';
import { expired, lineageRoots, type RetentionPolicy } from './retention.ts';

/*
 * Runs the snapshot retention policy (retention.ts) against the store: reads the index and the
 * instances, deletes the index rows of the snapshots the policy drops, then their blobs once
 * no row references them. Snapshots of instances that are not stopped or failed are
 * protected, and so are those of an instance that a queued or starting instance restores from.
 */

/** Statuses whose instance's snapshots the policy may delete. */
const SETTLED: ReadonlySet<InstanceStatus> = new Set<InstanceStatus>(['stopped', 'failed']);
/** Statuses of an instance that may still download the snapshot it restores from. */
const RESTORING: ReadonlySet<InstanceStatus> = new Set<InstanceStatus>(['queued', 'starting']);

export const RETENTION_EVERY_MS = 3_600_000; // one hour

export interface RetentionDeps {
  store: Store;
  blobs: BlobStore;
  policy: RetentionPolicy;
  clock: Clock;
  log: Logger;
}

/** One pass: the ids of the snapshots deleted. A failed deletion is logged and the pass goes on. */
export async function applySnapshotRetention(deps: RetentionDeps): Promise<string[]> {
  const { store, blobs, policy, clock, log } = deps;
  // Temp files of uploads a control died under (kill -9, power cut) go with the hourly pass,
  // once untouched for an hour, not only when a control starts.
  const swept = blobs.sweepTemp(clock());
  if (swept) log.info({ swept }, 'snapshot store: temp files of uploads cut off an hour ago or more removed');
  const snapshots = await store.snapshots.list();
  if (snapshots.length === 0) return [];
  const instances = await store.instances.list();
  const status = new Map(instances.map((i) => [i.id, i.status]));
  const sources = new Set<string>();
  for (const i of instances) {
    if (!RESTORING.has(i.status)) continue;
    for (const from of [i.restoredFrom, i.config.workspace.restoreFrom]) if (from) sources.add(from);
  }
  const protectedIds = new Set<string>();
  for (const s of snapshots) {
    const of = status.get(s.instance);
    if ((of !== undefined && !SETTLED.has(of)) || sources.has(s.instance)) protectedIds.add(s.id);
  }
  const drop = expired(snapshots, lineageRoots(instances), policy, clock(), protectedIds);
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  const deleted: string[] = [];
  for (const id of drop) {
    const s = byId.get(id)!;
    try {
      if (await store.snapshots.delete(id)) deleted.push(id);
      await blobs.remove(s.sha256, store.snapshots);
    } catch (err) {
      log.error({ err, snapshot: id, instance: s.instance }, 'snapshot retention: deleting a snapshot failed; next pass retries');
    }
  }
  if (deleted.length) log.info({ deleted: deleted.length, keepLast: policy.keepLast, maxAgeMs: policy.maxAgeMs }, 'snapshot retention: old snapshots deleted');
  return deleted;
}

export interface SnapshotRetention {
  /** Runs a pass now (or joins the one running); never rejects. */
  run(): Promise<string[]>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/** A pass at once, then every `intervalMs` (unref'd: it never holds the process open). */
export function startSnapshotRetention(deps: RetentionDeps & { intervalMs?: number; lead?: () => Promise<boolean> }): SnapshotRetention {
  let running: Promise<string[]> | undefined;
  let stopped = false;
  const run = (): Promise<string[]> => {
    if (stopped) return Promise.resolve([]);
    // Several controls on one database: one pass at a time, by the one that holds the lock.
    running ??= (deps.lead ? deps.lead() : Promise.resolve(true)).then((lead) => (lead ? applySnapshotRetention(deps) : []))
      .catch((err) => {
        deps.log.error({ err }, 'snapshot retention pass failed; next pass retries');
        return [] as string[];
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void run(), deps.intervalMs ?? RETENTION_EVERY_MS);
  timer.unref();
  void run();
  return {
    run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

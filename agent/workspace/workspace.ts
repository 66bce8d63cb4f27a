import type Docker from 'dockerode';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdDecompress } from 'node:zlib';
import type { Workspace } from '../../protocol/app-config.ts';
import { engineAway } from '../docker-engine.ts';
import { ControlApiError, controlAway, type AgentControlApi, type RestoreInfo, type SnapshotInfo } from '../control-api.ts';
import { volumeLabels, volumeName, type HostDefaults } from '../container-options.ts';
import { engineMessage, isNotFound } from '../docker-engine.ts';
import { checkSnapshot, digestTap, EmptyArchiveError, packWorkspace, restoreTar, ZSTD_CHUNK } from './snapshot-archive.ts';
import { humanBytes } from '../../protocol/human-bytes.ts';

/*
 * An instance's workspace on this host (issue 6 "Workspaces", DESIGN.md "One launch" step 6):
 * - a Docker volume `wharf-ws-<id>` (labelled wharf.type=workspace, wharf.instance,
 *   wharf.agent and WHARF_LABELS) mounted at workspace.path;
 * - snapshot: get-archive of the workspace (a running or a stopped container) → excludes →
 *   deterministic tar → zstd → sha256, into a temp file; control reuses a stored blob with
 *   the same digest (0 new bytes) or gets the file streamed, with progress lines;
 * - restore: download → sha256 checked against control's record while streaming → every
 *   member checked (archive-guard.ts) → put-archive into the created, not yet started,
 *   container, numeric owners, modes, mtimes and links kept.
 * Every step is a console line (`say`).
 */

export interface WorkspaceDeps {
  docker: Docker;
  api: AgentControlApi;
  say: (line: string) => void;
}

/** Download bytes the member check may lag behind before the download waits for it. */
const CHECK_BUFFER = 4 * 1024 * 1024;

/** Where snapshots are written before upload and downloads before restore. */
const tmpRoot = () => join(tmpdir(), 'wharf-agent');


const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / Math.max(ms / 1000, 0.001)).toFixed(1)} MB/s`;

/** Creates the instance's volume with its labels; an existing one (an earlier attempt's) is kept. */
export async function ensureVolume(docker: Docker, instance: string, host: HostDefaults): Promise<void> {
  await docker.createVolume({ Name: volumeName(instance), Labels: volumeLabels(instance, host) } as never);
}

/** Removes the instance's volume (after its snapshot is safe); a missing one is fine. */
export async function removeVolume(docker: Docker, instance: string): Promise<string | null> {
  try {
    await docker.getVolume(volumeName(instance)).remove();
    return null;
  } catch (err) {
    if (isNotFound(err)) return null;
    return engineMessage(err);
  }
}

/**
 * `away`: it failed because control or the Docker Engine could not be reached (restarting):
 * the same snapshot may succeed later.
 */
export type SnapshotOutcome = { ok: true; snapshot: SnapshotInfo; uploaded: number } | { ok: false; reason: string; away?: 'control' | 'engine' };

/**
 * Snapshots the workspace of `container` (running or stopped) and stores it in control.
 * Never throws: a failure is `{ok: false, reason}`, a sentence for the instance's status.
 */
export async function takeSnapshot(deps: WorkspaceDeps, instance: string, container: Docker.Container, workspace: Workspace): Promise<SnapshotOutcome> {
  const { api, say } = deps;
  let dir: string | undefined;
  try {
    await mkdir(tmpRoot(), { recursive: true, mode: 0o700 });
    dir = await mkdtemp(join(tmpRoot(), `snap-${instance}-`));
    const file = join(dir, 'workspace.tar.zst');
    const t0 = Date.now();
    say(`snapshot: reading the workspace ${workspace.path}${workspace.exclude.length ? ` (excluding ${workspace.exclude.join(', ')})` : ''}`);
    let archive: NodeJS.ReadableStream;
    try {
      archive = await container.getArchive({ path: workspace.path });
    } catch (err) {
      // Not answering, or failing on its side (an Engine on its way down answers 500s): worth
      // another try; a 404 (no such folder) is not.
      const engine = engineAway(err) || ((err as { statusCode?: number }).statusCode ?? 0) >= 500;
      return { ok: false, reason: `snapshot failed: cannot read the workspace ${workspace.path} from the container: ${engineMessage(err)}`, ...(engine ? { away: 'engine' as const } : {}) };
    }
    const packed = await packWorkspace(archive as unknown as AsyncIterable<Uint8Array>, { exclude: workspace.exclude, out: file });
    say(`snapshot: ${packed.files} file(s), ${packed.directories} folder(s), ${packed.links} link(s)${packed.excluded ? `, ${packed.excluded} excluded` : ''}; ${humanBytes(packed.tarBytes)} of tar → ${humanBytes(packed.size)} zstd in ${Date.now() - t0} ms (${rate(packed.tarBytes, Date.now() - t0)}); sha256 ${packed.sha256.slice(0, 16)}…, manifest ${packed.manifest.slice(0, 16)}…`);
    const reused = await api.reuseSnapshot(instance, packed.sha256);
    if (reused) {
      say(`snapshot: unchanged workspace (sha256 ${packed.sha256.slice(0, 16)}… is stored already): 0 new bytes uploaded; snapshot ${reused.id}`);
      return { ok: true, snapshot: reused, uploaded: 0 };
    }
    say(`snapshot: uploading ${humanBytes(packed.size)} to control`);
    const t1 = Date.now();
    let lastPct = 0;
    let lastAt = t1;
    const snapshot = await api.uploadSnapshot(instance, file, packed.size, packed.sha256, (sent) => {
      const pct = packed.size ? Math.floor((sent / packed.size) * 100) : 100;
      const now = Date.now();
      if (sent < packed.size && (pct >= lastPct + 10 || now - lastAt >= 5000)) {
        lastPct = pct - (pct % 10);
        lastAt = now;
        say(`snapshot: uploaded ${pct}% (${humanBytes(sent)} of ${humanBytes(packed.size)})`);
      }
    });
    say(`snapshot: stored as ${snapshot.id}, ${humanBytes(packed.size)} uploaded in ${Date.now() - t1} ms (${rate(packed.size, Date.now() - t1)})`);
    return { ok: true, snapshot, uploaded: packed.size };
  } catch (err) {
    const away = controlAway(err) ? 'control' : err instanceof EmptyArchiveError ? 'engine' : undefined;
    return { ok: false, reason: snapshotFailure(err), ...(away ? { away } : {}) };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function snapshotFailure(err: unknown): string {
  if (err instanceof ControlApiError && err.status === 413) {
    return `snapshot upload failed: the workspace snapshot is over control's size limit (WHARF_SNAPSHOT_MAX_BYTES) — ${err.message}; the previous snapshot is kept. Exclude large paths with workspace.exclude, or ask an admin to raise the limit`;
  }
  return `snapshot upload failed: ${(err as Error).message ?? String(err)}`;
}

/** Thrown by `restoreWorkspace`: its message is the instance's failure reason. */
export class RestoreError extends Error {}

/**
 * Restores `restore` into the workspace of the created, not yet started `container`: nothing
 * is written unless the download's sha256 matches and every member passes the checks.
 */
export async function restoreWorkspace(deps: WorkspaceDeps, instance: string, container: Docker.Container, workspace: Workspace, restore: RestoreInfo): Promise<void> {
  const { api, say } = deps;
  await mkdir(tmpRoot(), { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot(), `restore-${instance}-`));
  try {
    const file = join(dir, 'workspace.tar.zst');
    const t0 = Date.now();
    say(`restore: downloading snapshot ${restore.snapshot} of ${restore.from || 'the source instance'}`);
    let download;
    try {
      download = await api.downloadSnapshot(restore.snapshot, instance);
    } catch (err) {
      throw new RestoreError(`restore failed: cannot download snapshot ${restore.snapshot}: ${(err as Error).message}`);
    }
    const tap = digestTap();
    // The member check (checkSnapshot) reads the download as it comes in, rather than the file
    // in a pass of its own afterwards; its verdict counts only once the checksum is verified,
    // and nothing is extracted before both are in.
    const checkInput = new PassThrough({ highWaterMark: CHECK_BUFFER });
    const unzstd = createZstdDecompress({ chunkSize: ZSTD_CHUNK });
    checkInput.pipe(unzstd);
    let checkOver = false;
    const checking = checkSnapshot(unzstd).then(
      (checked) => ({ checked, error: undefined }),
      (error: unknown) => ({ checked: undefined, error: error as Error }),
    ).finally(() => {
      checkOver = true;
      checkInput.resume(); // a check that gave up reads no more: nothing waits on it
    });
    try {
      await pipeline(Readable.from(download.body), tap, async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          if (!checkOver && !checkInput.write(chunk)) await Promise.race([once(checkInput, 'drain'), checking]);
          yield chunk;
        }
      }, createWriteStream(file));
    } catch (err) {
      unzstd.destroy();
      throw new RestoreError(`restore failed: the download of snapshot ${restore.snapshot} broke off (${(err as Error).message}); nothing was restored`);
    }
    checkInput.end();
    const { sha256, bytes } = tap.digest();
    for (const [who, expected] of [['control\'s record', restore.sha256], ['the download header', download.sha256]] as const) {
      if (expected && expected.toLowerCase() !== sha256) {
        throw new RestoreError(`restore failed: snapshot ${restore.snapshot} fails its checksum: ${who} says sha256 ${expected.toLowerCase()}, the ${humanBytes(bytes)} downloaded have ${sha256}; it is damaged or was tampered with, and nothing was restored`);
      }
    }
    say(`restore: downloaded ${humanBytes(bytes)} in ${Date.now() - t0} ms (${rate(bytes, Date.now() - t0)}), sha256 ${sha256.slice(0, 16)}… verified`);
    const { checked, error } = await checking;
    if (!checked) throw new RestoreError(`restore failed: ${error!.message}`);
    say(`restore: ${checked.members} member(s) checked (no absolute paths, no "..", no writes through symlinks); extracting ${checked.files} file(s), ${humanBytes(checked.bytes)} into ${workspace.path}`);
    const t1 = Date.now();
    try {
      // Into the parent, the members under the workspace folder's own name: the folder's own
      // owner and mode are restored too. Numeric owners come from the archive (no copyUIDGID:
      // with it the Engine would chown everything to the image's USER).
      await container.putArchive(restoreTar(file, basename(workspace.path)), { path: dirname(workspace.path) });
    } catch (err) {
      throw new RestoreError(`restore failed: the Docker Engine could not extract the snapshot into ${workspace.path}: ${engineMessage(err)}`);
    }
    say(`restore: workspace ${workspace.path} restored from ${restore.from || restore.snapshot} in ${Date.now() - t1} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync, type ReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ControlError } from '../errors.ts';
import type { SnapshotStore } from '../store/store.ts';

/*
 * Snapshot blobs under WHARF_HOME/snapshots/, named by their sha256 (content-addressed: an
 * identical snapshot is stored once). A write goes to `.tmp-*` in the same folder while it is
 * hashed and counted, is fsynced, and only then renamed into place, so a blob's name never
 * shows a half-written file: a cut-off upload, a size-limit overrun or a checksum mismatch
 * removes its temp file and leaves every stored blob as it was.
 */

export const SHA256_HEX = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = '.tmp-';
const TEMP_IDLE_MS = 3_600_000; // an hour

export interface WriteOptions {
  /** The digest the sender announced (hex); a different one is CTL_SNAPSHOT_CHECKSUM. */
  expectedSha256?: string;
  /** More bytes than this is CTL_SNAPSHOT_TOO_LARGE. */
  maxBytes: number;
}

export interface StoredBlob {
  sha256: string;
  size: number;
  /** Relative to the blob store's folder. */
  path: string;
}

/** The file system is full, or the writer's quota is spent. */
function diskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Removes temp files left by a crash mid-write; call at start. Only those untouched for
   * `idleMs` (default an hour): several controls may share the folder, and another one's
   * upload in progress writes to its temp file all along.
   */
  sweepTemp(now: number = Date.now(), idleMs: number = TEMP_IDLE_MS): number {
    let n = 0;
    for (const name of readdirSync(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const file = join(this.dir, name);
      try {
        if (now - statSync(file).mtimeMs < idleMs) continue;
      } catch {
        continue; // gone meanwhile: its writer finished
      }
      rmSync(file, { force: true });
      n++;
    }
    return n;
  }

  pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new ControlError('CTL_INVALID', `"${sha256}" is not a sha256 in lowercase hex`);
    return sha256;
  }

  async write(source: Readable, options: WriteOptions): Promise<StoredBlob> {
    const expected = options.expectedSha256?.toLowerCase();
    if (expected !== undefined && !SHA256_HEX.test(expected)) {
      source.resume();
      throw new ControlError('CTL_INVALID', `X-Wharf-Sha256: "${options.expectedSha256}" is not a sha256 in hex`);
    }
    const temp = join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const file = await open(temp, 'wx', 0o600).catch((err: unknown) => {
      throw diskFull(err) ? new ControlError('CTL_SNAPSHOT_STORE_FULL', (err as Error).message) : err;
    });
    try {
      for await (const chunk of source as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        if (size > options.maxBytes) throw new ControlError('CTL_SNAPSHOT_TOO_LARGE', `the snapshot passed the limit of ${options.maxBytes} bytes`);
        hash.update(bytes);
        await file.write(bytes);
      }
      const sha256 = hash.digest('hex');
      if (expected !== undefined && expected !== sha256) {
        throw new ControlError('CTL_SNAPSHOT_CHECKSUM', `announced sha256 ${expected}, received ${sha256}`);
      }
      await file.sync();
      await file.close();
      const path = this.pathOf(sha256);
      await rename(temp, join(this.dir, path));
      await this.#syncDir();
      return { sha256, size, path };
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw diskFull(err) ? new ControlError('CTL_SNAPSHOT_STORE_FULL', (err as Error).message) : err;
    }
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(join(this.dir, this.pathOf(sha256)))).isFile();
    } catch {
      return false;
    }
  }

  /** The blob's bytes; CTL_NOT_FOUND when it is missing. */
  async read(sha256: string): Promise<{ stream: ReadStream; size: number }> {
    const path = join(this.dir, this.pathOf(sha256));
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new ControlError('CTL_NOT_FOUND', `the blob of snapshot ${sha256} is missing from the store`);
    }
    return { stream: createReadStream(path), size };
  }

  /** Deletes the blob unless a snapshot row still references it; true when it was deleted. */
  async remove(sha256: string, index: SnapshotStore): Promise<boolean> {
    const referenced = (await index.list()).some((s) => s.sha256 === sha256);
    if (referenced) return false;
    await rm(join(this.dir, this.pathOf(sha256)), { force: true });
    return true;
  }

  async #syncDir(): Promise<void> {
    // The rename is durable once the folder is synced (best effort where it cannot be opened).
    try {
      const d = await open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* not supported on this platform */
    }
  }
}

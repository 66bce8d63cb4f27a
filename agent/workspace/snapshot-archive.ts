import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createZstdCompress, createZstdDecompress } from 'node:zlib';
import { ArchiveGuard, normalizeMember } from './archive-guard.ts';
import { excluder } from './exclude.ts';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-pack.ts';
import { readTar, TarFormatError, type TarHeader } from './tar-reader.ts';

/*
 * A workspace snapshot's bytes (issue 6 "Workspaces"): Docker's get-archive of the workspace
 * folder → members re-based onto the workspace ("./" is the folder itself, then "a/b") with
 * the excludes dropped → re-written tar (modes, uid/gid, mtimes, symlinks and hardlinks kept;
 * nothing of the time of writing: see tar-pack.ts) → zstd → sha256, into a file. An unchanged
 * workspace gives byte-identical output, so its sha256 equals the previous snapshot's.
 * Restore reads such a file back: checked member by member (archive-guard.ts) in a first
 * pass, then re-based onto the target folder's name for Docker's put-archive.
 */

/** Fixed-size pieces into zstd, whatever sizes the Engine sent: the compressed bytes then depend on the content only. */
const PIECE = 256 * 1024;
/**
 * Level 1: on a 1 GiB workspace of mixed files (bench/groups/snapshot.ts) it takes about half
 * the CPU of level 3 (3.5 s against 6.5 s) for a 2 % larger blob, and the pack is CPU-bound.
 */
const ZSTD_LEVEL = 1;
/** Reads of a snapshot file during restore (fs streams default to 64 KiB). */
const READ_CHUNK = 1024 * 1024;
/**
 * zstd's output pieces (node:zlib's default is 16 KiB): every full output buffer is a round
 * trip between the thread pool and the main thread. 1 MiB halves decompression's CPU time and
 * cuts compression's by a quarter (1 GiB bench workspace); the compressed bytes are the same.
 */
export const ZSTD_CHUNK = 1024 * 1024;

export interface PackResult {
  sha256: string;
  /** Compressed bytes. */
  size: number;
  /** Uncompressed tar bytes. */
  tarBytes: number;
  files: number;
  directories: number;
  links: number;
  excluded: number;
  /** sha256 of the manifest: type, path, size, mtime, mode, owner, link target of each member. */
  manifest: string;
}

async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafe(size);
  let used = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(size - used, chunk.length - at);
      chunk.copy(buf, used, at, at + n);
      used += n;
      at += n;
      if (used === size) {
        yield buf;
        buf = Buffer.allocUnsafe(size);
        used = 0;
      }
    }
  }
  if (used) yield buf.subarray(0, used);
}

/** A pass-through that sha256-sums and counts what goes by. */
export function digestTap(): Transform & { digest(): { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { digest(): { sha256: string; bytes: number } };
  tap.digest = () => ({ sha256: hash.digest('hex'), bytes });
  return tap;
}

/** The archive name of a workspace-relative path: "./" for the folder itself, "dir/" for directories. */
const memberName = (rel: string, type: TarHeader['type']) => (rel === '' ? './' : type === 'directory' ? `${rel}/` : rel);

/**
 * Docker's get-archive of the workspace (its first member is the folder itself, named after
 * it) → a snapshot file at `out`. Excluded paths are left out (a hardlink to an excluded
 * file too, as its content is not there).
 */
export async function packWorkspace(archive: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { exclude: readonly string[]; out: string }): Promise<PackResult> {
  const isExcluded = excluder(options.exclude);
  const manifest = createHash('sha256');
  const stats = { tarBytes: 0, files: 0, directories: 0, links: 0, excluded: 0 };

  async function* tar(): AsyncGenerator<Buffer> {
    let root: string | undefined;
    const rebase = (path: string): string => {
      const norm = normalizeMember(path);
      if (norm === root) return '';
      if (root !== undefined && norm.startsWith(`${root}/`)) return norm.slice(root.length + 1);
      throw new TarFormatError(`Docker's archive has a member "${path}" outside the workspace folder "${root}"`);
    };
    for await (const { header, body } of readTar(archive)) {
      if (root === undefined) {
        root = normalizeMember(header.path);
        if (header.type !== 'directory') throw new Error(`the workspace path is a ${header.type} in the container, not a folder`);
      }
      const rel = rebase(header.path);
      if (rel && isExcluded(rel)) {
        stats.excluded++;
        continue;
      }
      let linkname = header.linkname;
      if (header.type === 'hardlink') {
        linkname = rebase(header.linkname);
        if (isExcluded(linkname)) {
          stats.excluded++;
          continue;
        }
      }
      const out: TarHeader = { ...header, path: memberName(rel, header.type), linkname };
      if (header.type === 'file') stats.files++;
      else if (header.type === 'directory') stats.directories++;
      else if (header.type === 'symlink' || header.type === 'hardlink') stats.links++;
      manifest.update(`${out.type}\t${out.path}\t${out.size}\t${out.mtime}\t${out.mode.toString(8)}\t${out.uid}:${out.gid}\t${out.linkname}\n`);
      const head = encodeHeader(out);
      stats.tarBytes += head.length;
      yield head;
      if (out.size) {
        for await (const chunk of body) yield chunk;
        const pad = padding(out.size);
        stats.tarBytes += out.size + pad.length;
        yield pad;
      }
    }
    if (root === undefined) throw new EmptyArchiveError('Docker\'s archive of the workspace is empty');
    stats.tarBytes += END_OF_ARCHIVE.length;
    yield END_OF_ARCHIVE;
  }

  const tap = digestTap();
  await pipeline(
    Readable.from(rechunk(tar(), PIECE)),
    createZstdCompress({ chunkSize: ZSTD_CHUNK, params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL, [constants.ZSTD_c_checksumFlag]: 1 } }),
    tap,
    createWriteStream(options.out),
  );
  const { sha256, bytes } = tap.digest();
  return { sha256, size: bytes, ...stats, manifest: manifest.digest('hex') };
}

/** The members of a snapshot (a file, or a decompressed stream of one), decompressed. */
function membersOf(source: string | NodeJS.ReadableStream) {
  const raw = typeof source === 'string' ? createReadStream(source, { highWaterMark: READ_CHUNK }).pipe(createZstdDecompress({ chunkSize: ZSTD_CHUNK })) : source;
  return readTar(raw as AsyncIterable<Buffer>);
}

export interface CheckedSnapshot {
  members: number;
  files: number;
  bytes: number;
}

/**
 * First restore pass: every member is checked (archive-guard.ts); the first unsafe one throws
 * UnsafeArchiveError. `source` is the snapshot file, or the zstd-decompressed stream of a
 * download (so that the check runs while the download does, see workspace.ts).
 */
export async function checkSnapshot(source: string | NodeJS.ReadableStream): Promise<CheckedSnapshot> {
  const guard = new ArchiveGuard();
  let files = 0;
  let bytes = 0;
  try {
    for await (const { header } of membersOf(source)) {
      guard.check(header);
      if (header.type === 'file') {
        files++;
        bytes += header.size;
      }
    }
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_ZSTD') || /zstd|Unknown frame/i.test((err as Error).message)) {
      throw new TarFormatError(`the snapshot is not zstd-compressed tar (${(err as Error).message})`);
    }
    throw err;
  }
  return { members: guard.members, files, bytes };
}

/**
 * Second restore pass: the snapshot as a tar whose members lie under `folder` (the
 * workspace's own name), for put-archive into the workspace's parent. Checked again on the
 * way: the file is ours, but a check costs nothing here.
 */
export function restoreTar(file: string, folder: string): Readable {
  async function* tar(): AsyncGenerator<Buffer> {
    const guard = new ArchiveGuard();
    for await (const { header, body } of membersOf(file)) {
      guard.check(header);
      const rel = normalizeMember(header.path);
      const path = rel === '' ? `${folder}/` : `${folder}/${rel}${header.type === 'directory' ? '/' : ''}`;
      const linkname = header.type === 'hardlink' ? `${folder}/${normalizeMember(header.linkname)}` : header.linkname;
      yield encodeHeader({ ...header, path, linkname });
      if (header.size) {
        for await (const chunk of body) yield chunk;
        yield padding(header.size);
      }
    }
    yield END_OF_ARCHIVE;
  }
  return Readable.from(rechunk(tar(), PIECE));
}

/**
 * Docker's archive of a folder holds at least the folder: an empty one was cut short, as an
 * Engine stopping cuts it (the snapshot is worth taking again once the Engine is back).
 */
export class EmptyArchiveError extends TarFormatError {}

/*
 * A streaming tar reader: ustar, PAX (`x` per member, `g` global) and GNU long names (`L`,
 * `K`), base-256 numbers included. Pure: bytes in, members out, with each member's body
 * streamed, never buffered whole. It reads what Docker's get-archive, GNU tar and Python's
 * tarfile write. What it does not know (sparse files, multi-volume parts) is an error that
 * names the member, never silently skipped.
 *
 * A restore hands what this reader saw to the Docker Engine, whose reader is Go's
 * archive/tar: where this one reads a header, it reads it as Go does (numbers, magic and
 * prefix, the old trailing-slash directories, empty PAX values). Where tar readers read the
 * same bytes differently (Go, GNU tar and Python's tarfile among them), the archive is refused
 * with an AmbiguousTarError that names the member (issue 14), never read one way or the other:
 * - a PAX `path` (`linkpath`) together with a GNU long name (long link): Go takes the GNU
 *   name, GNU tar and Python the PAX one;
 * - a global PAX header (`g`) that sets a member field (`path`, `size`, `uid`…): Go and
 *   Docker ignore it, GNU tar and Python apply it to every member after it;
 * - a global header between an extended header and its member (Go drops the extended one),
 *   two PAX headers or two long names for one member (Go keeps the last, others merge);
 * - a regular file (`0`) whose name ends in "/" (Go: a file, GNU tar: a folder);
 * - a link, folder, device or fifo whose header gives a size (readers differ on whether that
 *   many bytes of data follow: the rest of the archive would be framed differently);
 * - a zero block followed by more headers (Go stops with an error, GNU tar -i reads on).
 */

const BLOCK = 512;

export type MemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  /** As written in the archive (PAX and GNU long names applied); directories may end in "/". */
  path: string;
  type: MemberType;
  /** Permission bits, setuid/setgid/sticky included (& 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body bytes (0 for everything but files). */
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Symlink target, or hardlink target (a path in the archive). */
  linkname: string;
  devmajor: number;
  devminor: number;
}

export interface TarMember {
  header: TarHeader;
  /** The body's bytes as they stream in; what is not read is skipped before the next member. */
  body: AsyncIterable<Buffer>;
}

export class TarFormatError extends Error {}

/** Bytes that tar readers would read as different members: refused, not guessed. */
export class AmbiguousTarError extends TarFormatError {
  readonly member: string;
  constructor(member: string, why: string) {
    super(`tar member "${member}" ${why}: tar readers (Docker's among them) would not read it alike, so the archive is refused`);
    this.member = member;
  }
}

/** Pulls exact byte counts out of a chunked source. */
class Bytes {
  readonly #it: AsyncIterator<Uint8Array>;
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.#it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (async function* () { yield* source; })();
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#it.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (chunk.length) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only when the source ended. */
  async read(n: number): Promise<Buffer> {
    while (this.#length < n && (await this.#more()));
    const take = Math.min(n, this.#length);
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.#chunks = rest.length ? [rest] : [];
    this.#length = rest.length;
    return out;
  }

  /** Up to n bytes in the pieces they came in; throws when the source ends first. */
  async *stream(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#length === 0 && !(await this.#more())) throw new TarFormatError(`the archive ends inside ${what}`);
      if (this.#length === 0) continue;
      const first = this.#chunks[0];
      const piece = first.length <= left ? first : first.subarray(0, left);
      if (piece === first) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(left);
      this.#length -= piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.stream(n, what)) { /* dropped */ }
  }

  async cancel(): Promise<void> {
    if (!this.#ended) await this.#it.return?.();
  }
}

const padOf = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** Octal, as Go's archive/tar reads it: NULs and spaces trimmed at both ends, then up to a NUL. */
function octalField(f: Buffer, field: string): number {
  let start = 0;
  let end = f.length;
  while (start < end && (f[start] === 0 || f[start] === 0x20)) start++;
  while (end > start && (f[end - 1] === 0 || f[end - 1] === 0x20)) end--;
  const text = cString(f, start, end - start);
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`the ${field} field of a tar header is not a number: "${text}"`);
  const n = parseInt(text, 8);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`the ${field} field of a tar header is too large`);
  return n;
}

/** Octal or GNU base-256 (high bit set; the next bit marks a negative number, refused). */
function numeric(block: Buffer, offset: number, length: number, field: string): number {
  const f = block.subarray(offset, offset + length);
  if (f[0] & 0x80) {
    if (f[0] & 0x40) throw new TarFormatError(`negative ${field} in a tar header`);
    let n = f[0] & 0x3f;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i];
    if (!Number.isSafeInteger(n)) throw new TarFormatError(`the ${field} field of a tar header is too large`);
    return n;
  }
  return octalField(f, field);
}

function checksumOk(block: Buffer): boolean {
  const stored = octalField(block.subarray(148, 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/**
 * PAX records "<len> key=value\n" → a map (later keys win). An empty value means "no
 * override" (POSIX; Go keeps the ustar field): such keys are left out of the map.
 */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const digits = space === -1 ? '' : data.subarray(at, space).toString('latin1');
    const len = /^[0-9]{1,9}$/.test(digits) ? Number(digits) : NaN;
    if (!(len > space - at + 1) || at + len > data.length || data[at + len - 1] !== 0x0a) throw new TarFormatError('a PAX header record is malformed');
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('a PAX header record has no key');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (value === '') delete out[key];
    else out[key] = value;
    at += len;
  }
  return out;
}

/** PAX keys that change a member: a global header setting one is read differently by different readers. */
const MEMBER_KEYS = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime', 'hdrcharset']);

/** A PAX number as Go's strconv reads it (decimal; mtime may have a fraction). */
function paxNumber(ext: Record<string, string>, key: string, member: string): number | undefined {
  const raw = ext[key];
  if (raw === undefined) return undefined;
  const ok = key === 'mtime' ? /^-?[0-9]{1,15}(\.[0-9]*)?$/.test(raw) : /^[0-9]{1,15}$/.test(raw);
  if (!ok) throw new TarFormatError(`tar member "${member}" has a PAX ${key} that is not a number: "${raw.slice(0, 40)}"`);
  return Math.floor(Number(raw));
}

const TYPES: Record<string, MemberType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo' };

/** Go's archive/tar format guess: which header fields exist (ustar prefix, device numbers). */
function formatOf(block: Buffer): 'ustar' | 'star' | 'gnu' | 'v7' {
  const magic = block.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\0') return block.subarray(508, 512).toString('latin1') === 'tar\0' ? 'star' : 'ustar';
  if (magic === 'ustar ' && block.subarray(263, 265).toString('latin1') === ' \0') return 'gnu';
  return 'v7';
}

/** The members of a tar stream, in archive order. Consume (or skip) each body before asking for the next member. */
export async function* readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<TarMember> {
  const bytes = new Bytes(source);
  // The extended headers read for the member that comes next (Go keeps them in one place).
  let pax: Record<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let twice: string | undefined; // a second extended header of one kind for the same member
  try {
    for (;;) {
      const block = await bytes.read(BLOCK);
      if (block.length === 0) return; // no end-of-archive blocks: accepted, as GNU tar does
      if (block.length < BLOCK) throw new TarFormatError('the archive ends inside a header');
      if (block.every((b) => b === 0)) {
        // End of archive; what follows is padding. A header after one zero block is something
        // Go refuses and GNU tar --ignore-zeros reads: members hidden from one reader.
        const next = await bytes.read(BLOCK);
        if (next.length === BLOCK && !next.every((b) => b === 0)) throw new AmbiguousTarError(cString(next, 0, 100), 'follows a zero block (the end of the archive for most readers, not for all)');
        return;
      }
      if (!checksumOk(block)) throw new TarFormatError('a tar header has a wrong checksum: not a tar archive, or a damaged one');
      const flag = String.fromCharCode(block[156]);
      const size = numeric(block, 124, 12, 'size');
      const name = cString(block, 0, 100);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > 16 * 1024 * 1024) throw new TarFormatError(`an extended header of ${size} bytes is too large`);
        const data = await bytes.read(size);
        if (data.length < size) throw new TarFormatError('the archive ends inside an extended header');
        await bytes.skip(padOf(size), 'padding');
        if (flag === 'g') {
          if (pax || longName !== undefined || longLink !== undefined) throw new AmbiguousTarError(name, 'is a global PAX header between an extended header and the member it describes (Go drops that extended header, GNU tar keeps it)');
          const records = parsePax(data);
          const set = Object.keys(records).filter((k) => MEMBER_KEYS.has(k));
          // Docker ignores global headers; GNU tar and Python apply them to every member after.
          if (set.length) throw new AmbiguousTarError(name, `is a global PAX header that sets ${set.map((k) => `${k}="${records[k].slice(0, 200)}"`).join(', ')} for every member after it (Docker ignores global headers, GNU tar and Python apply them)`);
          continue;
        }
        if (flag === 'x') {
          if (pax) twice = 'two PAX headers';
          pax = parsePax(data);
          if (Object.keys(pax).some((k) => k.startsWith('GNU.sparse.'))) throw new TarFormatError(`tar member "${pax.path ?? pax['GNU.sparse.name'] ?? name}" is a sparse file (GNU.sparse PAX records), which Wharf does not restore`);
          for (const k of ['path', 'linkpath']) if (pax[k]?.includes('\0')) throw new TarFormatError(`a PAX ${k} holds a NUL byte`);
        } else if (flag === 'L') {
          if (longName !== undefined) twice = 'two GNU long names';
          longName = cString(data, 0, data.length);
        } else {
          if (longLink !== undefined) twice = 'two GNU long link names';
          longLink = cString(data, 0, data.length);
        }
        continue;
      }
      let type = TYPES[flag];
      if (!type) throw new TarFormatError(`tar member "${name}" has type "${flag}", which Wharf does not restore (only files, directories, links, devices and fifos)`);
      const ext = pax ?? {};
      const format = formatOf(block);
      const prefix = format === 'ustar' ? cString(block, 345, 155) : format === 'star' ? cString(block, 345, 131) : '';
      const ustarPath = prefix ? `${prefix}/${name}` : name;
      // An empty GNU long name is no name (Go); a PAX value is never empty here (parsePax).
      if (longName === '') longName = undefined;
      if (longLink === '') longLink = undefined;
      const path = longName ?? ext.path ?? ustarPath;
      if (twice) throw new AmbiguousTarError(path, `comes with ${twice} (Go reads the last, other readers merge them)`);
      if (ext.path !== undefined && longName !== undefined) throw new AmbiguousTarError(longName, `has both a GNU long name and a PAX path "${ext.path}" (Go takes the long name, GNU tar and Python the PAX path)`);
      if (ext.linkpath !== undefined && longLink !== undefined) throw new AmbiguousTarError(path, `has both a GNU long link name "${longLink}" and a PAX linkpath "${ext.linkpath}" (Go takes the long link name, GNU tar and Python the PAX one)`);
      const field = (key: string, offset: number, length: number) => paxNumber(ext, key, path) ?? numeric(block, offset, length, key);
      const header: TarHeader = {
        path,
        type,
        mode: numeric(block, 100, 8, 'mode') & 0o7777,
        uid: field('uid', 108, 8),
        gid: field('gid', 116, 8),
        size: paxNumber(ext, 'size', path) ?? size,
        mtime: field('mtime', 136, 12),
        linkname: longLink ?? ext.linkpath ?? cString(block, 157, 100),
        devmajor: format === 'v7' ? 0 : numeric(block, 329, 8, 'devmajor'),
        devminor: format === 'v7' ? 0 : numeric(block, 337, 8, 'devminor'),
      };
      if (path.endsWith('/') && type === 'file') {
        // Old tars mark folders with a trailing slash on the old regular-file type ("\0"): Go,
        // GNU tar and Python read a folder. On "0" or "7", Go reads a file, GNU tar a folder.
        if (flag !== '\0') throw new AmbiguousTarError(path, `is a regular file (type "${flag}") whose name ends in "/" (Go reads a file, GNU tar a folder)`);
        header.type = type = 'directory';
      }
      if (!Number.isSafeInteger(header.size) || header.size < 0) throw new TarFormatError(`tar member "${path}" has an invalid size`);
      // Only files carry a body. A size on anything else is ambiguous: POSIX lets a hardlink
      // carry data, Go and Python skip none, GNU tar skips a folder's.
      if (type !== 'file' && header.size !== 0) throw new AmbiguousTarError(path, `is a ${type} whose header gives a size of ${header.size} bytes (readers differ on whether that much data follows)`);
      pax = undefined;
      longName = undefined;
      longLink = undefined;
      const bodySize = header.size;
      const what = `the body of "${path}"`;
      const inner = bytes.stream(bodySize, what);
      // A consumer that stops early (break) does not end the body: the rest is skipped here.
      const outer: AsyncIterator<Buffer> = { next: () => inner.next(), return: async () => ({ done: true, value: undefined }) };
      yield { header, body: { [Symbol.asyncIterator]: () => outer } };
      for (let r = await inner.next(); !r.done; r = await inner.next()) { /* skipped */ }
      await bytes.skip(padOf(bodySize), 'padding');
    }
  } finally {
    await bytes.cancel();
  }
}

/*
 * A streaming tar reader: ustar, PAX (`x` per member, `g` global) and GNU long names (`L`,
 * `K`), base-256 numbers included. Pure: bytes in, members out, with each member's body
 * streamed, never buffered whole. It reads what Docker's get-archive, GNU tar and Python's
 * tarfile write. What it does not know (sparse files, multi-volume parts) is an error that
 * names the member, never silently skipped.
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

/** Octal (NUL/space padded) or GNU base-256 (high bit set). */
function numeric(block: Buffer, offset: number, length: number, field: string): number {
  const f = block.subarray(offset, offset + length);
  if (f[0] & 0x80) {
    if (f[0] === 0xff) throw new TarFormatError(`negative ${field} in a tar header`);
    let n = f[0] & 0x7f;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i];
    return n;
  }
  const text = f.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`the ${field} field of a tar header is not a number: "${text}"`);
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** PAX records "<len> key=value\n" → a map (later keys win). */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const len = Number(data.subarray(at, space).toString('ascii'));
    if (space === -1 || !Number.isInteger(len) || len <= 0 || at + len > data.length) throw new TarFormatError('a PAX header record is malformed');
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('a PAX header record has no key');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

const TYPES: Record<string, MemberType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo' };

/** The members of a tar stream, in archive order. Consume (or skip) each body before asking for the next member. */
export async function* readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<TarMember> {
  const bytes = new Bytes(source);
  let global: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const block = await bytes.read(BLOCK);
      if (block.length === 0) return; // no end-of-archive blocks: accepted, as GNU tar does
      if (block.length < BLOCK) throw new TarFormatError('the archive ends inside a header');
      if (block.every((b) => b === 0)) return; // end of archive; what follows is padding
      if (!checksumOk(block)) throw new TarFormatError('a tar header has a wrong checksum: not a tar archive, or a damaged one');
      const flag = String.fromCharCode(block[156]);
      const size = numeric(block, 124, 12, 'size');
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > 16 * 1024 * 1024) throw new TarFormatError(`an extended header of ${size} bytes is too large`);
        const data = await bytes.read(size);
        if (data.length < size) throw new TarFormatError('the archive ends inside an extended header');
        await bytes.skip(padOf(size), 'padding');
        if (flag === 'x') pax = { ...pax, ...parsePax(data) };
        else if (flag === 'g') global = { ...global, ...parsePax(data) };
        else if (flag === 'L') longName = cString(data, 0, data.length);
        else longLink = cString(data, 0, data.length);
        continue;
      }
      let type = TYPES[flag];
      if (!type) throw new TarFormatError(`tar member "${cString(block, 0, 100)}" has type "${flag}", which Wharf does not restore (only files, directories, links, devices and fifos)`);
      const ext = { ...global, ...pax };
      const magic = block.subarray(257, 262).toString('latin1');
      const prefix = magic === 'ustar' ? cString(block, 345, 155) : '';
      const name = cString(block, 0, 100);
      let path = ext.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
      const n = (key: string, offset: number, length: number) => (ext[key] !== undefined ? Math.floor(Number(ext[key])) : numeric(block, offset, length, key));
      const header: TarHeader = {
        path,
        type,
        mode: numeric(block, 100, 8, 'mode') & 0o7777,
        uid: n('uid', 108, 8),
        gid: n('gid', 116, 8),
        size: ext.size !== undefined ? Number(ext.size) : size,
        mtime: n('mtime', 136, 12),
        linkname: ext.linkpath ?? longLink ?? cString(block, 157, 100),
        devmajor: magic === 'ustar' ? numeric(block, 329, 8, 'devmajor') : 0,
        devminor: magic === 'ustar' ? numeric(block, 337, 8, 'devminor') : 0,
      };
      // Old tars mark directories with a trailing slash on a regular-file type.
      if (type === 'file' && path.endsWith('/')) header.type = type = 'directory';
      if (!Number.isSafeInteger(header.size) || header.size < 0) throw new TarFormatError(`tar member "${path}" has an invalid size`);
      pax = {};
      longName = undefined;
      longLink = undefined;
      // Only files carry a body (a hardlink's size field, if any, is ignored by writers of note).
      const bodySize = type === 'file' ? header.size : 0;
      if (type !== 'file') header.size = 0;
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

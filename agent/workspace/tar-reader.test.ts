import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-pack.ts';
import { AmbiguousTarError, readTar, TarFormatError, type TarHeader } from './tar-reader.ts';

// Real peers: archives written by GNU tar in its three formats and by Python's tarfile.
const dir = mkdtempSync(join(tmpdir(), 'wharf-tar-reader-'));
const src = join(dir, 'src');
const LONG = `deep/${'d'.repeat(80)}/${'f'.repeat(120)}.txt`;

async function members(archive: Buffer | AsyncIterable<Uint8Array>, chunk = 0) {
  const source = Buffer.isBuffer(archive) && chunk
    ? (function* () { for (let i = 0; i < archive.length; i += chunk) yield archive.subarray(i, i + chunk); })()
    : Buffer.isBuffer(archive) ? [archive] : archive;
  const out: (TarHeader & { content: string })[] = [];
  for await (const { header, body } of readTar(source)) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.push({ ...header, content: Buffer.concat(parts).toString('utf8') });
  }
  return out;
}

beforeAll(() => {
  mkdirSync(join(src, 'sub'), { recursive: true });
  mkdirSync(join(src, LONG, '..'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  chmodSync(join(src, 'a.txt'), 0o640);
  writeFileSync(join(src, 'sub', 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(src, 'sub', 'run.sh'), 0o755);
  writeFileSync(join(src, LONG), 'long one');
  writeFileSync(join(src, 'été.txt'), 'accents');
  writeFileSync(join(src, 'big.bin'), Buffer.alloc(100_000, 'x'));
  symlinkSync('a.txt', join(src, 'link'));
  symlinkSync(`/${'t'.repeat(150)}`, join(src, 'longlink'));
  linkSync(join(src, 'a.txt'), join(src, 'hard'));
  utimesSync(join(src, 'a.txt'), 1_000_000_000, 1_000_000_000);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readTar', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`reads GNU tar's --format=${format}: names, long names, types, modes, mtimes, bodies${format === 'ustar' ? ' (ustar cannot hold the long names: left out)' : ''}`, async () => {
      const file = join(dir, `${format}.tar`);
      const items = ['a.txt', 'sub', 'été.txt', 'big.bin', 'link', 'hard', ...(format === 'ustar' ? [] : ['deep', 'longlink'])];
      execFileSync('tar', ['-C', src, `--format=${format}`, '--owner=1000', '--group=1000', '--numeric-owner', '-cf', file, ...items]);
      for (const chunk of [0, 1, 511, 7777]) {
        const list = await members(readFileSync(file), chunk);
        const by = new Map(list.map((m) => [m.path.replace(/\/$/, ''), m]));
        expect(by.get('a.txt')).toMatchObject({ type: 'file', mode: 0o640, uid: 1000, gid: 1000, mtime: 1_000_000_000, content: 'hello\n', size: 6 });
        expect(by.get('sub')).toMatchObject({ type: 'directory' });
        expect(by.get('sub/run.sh')).toMatchObject({ type: 'file', mode: 0o755, content: '#!/bin/sh\n' });
        expect(by.get('été.txt')).toMatchObject({ content: 'accents' });
        expect(by.get('big.bin')!.content).toBe('x'.repeat(100_000));
        expect(by.get('link')).toMatchObject({ type: 'symlink', linkname: 'a.txt' });
        expect(by.get('hard')).toMatchObject({ type: 'hardlink', linkname: 'a.txt', content: '' });
        if (format !== 'ustar') {
          expect(by.get(LONG)).toMatchObject({ type: 'file', content: 'long one' });
          expect(by.get('longlink')).toMatchObject({ type: 'symlink', linkname: `/${'t'.repeat(150)}` });
        }
      }
    });
  }

  it('reads ustar names split into prefix and name', async () => {
    const name = `${'p'.repeat(90)}/${'n'.repeat(60)}`;
    mkdirSync(join(src, name, '..'), { recursive: true });
    writeFileSync(join(src, name), 'split');
    const file = join(dir, 'split.tar');
    execFileSync('tar', ['-C', src, '--format=ustar', '-cf', file, name]);
    const list = await members(readFileSync(file));
    expect(list.find((m) => m.path === name)).toMatchObject({ content: 'split' });
  });

  it('reads Python tarfile archives (PAX and GNU formats)', async () => {
    for (const format of ['PAX_FORMAT', 'GNU_FORMAT']) {
      const file = join(dir, `py-${format}.tar`);
      execFileSync('python3', ['-c', `
import tarfile, io, sys
with tarfile.open(sys.argv[1], 'w', format=getattr(tarfile, sys.argv[2])) as t:
    for name, data in [('x/' + 'y' * 200, b'py long'), ('plain', b'p')]:
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o600; i.uid = 3000000; i.mtime = 1234567890
        t.addfile(i, io.BytesIO(data))
`, file, format]);
      const list = await members(readFileSync(file));
      expect(list.map((m) => [m.path, m.content, m.mode, m.uid, m.mtime])).toEqual([
        [`x/${'y'.repeat(200)}`, 'py long', 0o600, 3000000, 1234567890],
        ['plain', 'p', 0o600, 3000000, 1234567890],
      ]);
    }
  });

  it('lets a consumer skip bodies or stop reading one part-way', async () => {
    const file = join(dir, 'skip.tar');
    execFileSync('tar', ['-C', src, '-cf', file, 'big.bin', 'a.txt']);
    const seen: string[] = [];
    for await (const { header, body } of readTar([readFileSync(file)])) {
      if (header.path === 'big.bin') for await (const _ of body) break;
      else for await (const c of body) seen.push(c.toString());
    }
    expect(seen.join('')).toBe('hello\n');
  });

  it('refuses a damaged header and an archive cut off inside a body', async () => {
    const file = join(dir, 'bad.tar');
    execFileSync('tar', ['-C', src, '-cf', file, 'big.bin']);
    const bytes = readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[10] ^= 0xff;
    await expect(members(damaged)).rejects.toThrow(TarFormatError);
    await expect(members(bytes.subarray(0, 5000))).rejects.toThrow(/ends inside the body of "big.bin"/);
  });

  it('round-trips what tar-pack writes, and GNU tar extracts it alike (long names, links, owners)', async () => {
    const headers: TarHeader[] = [
      { path: './', type: 'directory', mode: 0o755, uid: 1000, gid: 1000, size: 0, mtime: 1, linkname: '', devmajor: 0, devminor: 0 },
      { path: LONG, type: 'file', mode: 0o600, uid: 4_000_000, gid: 7, size: 3, mtime: 1_500_000_000, linkname: '', devmajor: 0, devminor: 0 },
      { path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: `../${'z'.repeat(120)}`, devmajor: 0, devminor: 0 },
      { path: 'h', type: 'hardlink', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: 5, linkname: LONG, devmajor: 0, devminor: 0 },
    ];
    const archive = Buffer.concat([...headers.flatMap((h) => (h.size ? [encodeHeader(h), Buffer.from('abc'), padding(3)] : [encodeHeader(h)])), END_OF_ARCHIVE]);
    const back = await members(archive);
    expect(back.map(({ content: _c, ...h }) => h)).toEqual(headers);
    const file = join(dir, 'packed.tar');
    writeFileSync(file, archive);
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    expect(listing).toContain(`4000000/7`);
    expect(listing).toContain(LONG);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xf', file]);
    expect(readFileSync(join(out, LONG), 'utf8')).toBe('abc');
    expect(lstatSync(join(out, 'h')).ino).toBe(lstatSync(join(out, LONG)).ino);
  });

  // Hand-built headers (issue 14): bytes that Go's archive/tar (the Docker Engine's reader),
  // GNU tar and Python's tarfile read differently are refused, naming the member; where they
  // agree, this reader reads what Go reads. What Docker did with the first three was checked
  // on the real Engine (test/e2e/workspace-refusals.test.ts restores them).
  describe('archives that tar readers read differently', () => {
    const read = async (...parts: Buffer[]) => members(Buffer.concat([...parts, Buffer.alloc(1024)]));
    const refusal = async (...parts: Buffer[]) => {
      const err = await read(...parts).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AmbiguousTarError);
      return err as AmbiguousTarError;
    };

    it('refuses a PAX path together with a GNU long name, in either order, naming both', async () => {
      for (const parts of [[ext('x', pax('path', 'pax-name')), ext('L', 'gnu-name\0')], [ext('L', 'gnu-name'), ext('x', pax('path', 'pax-name'))]]) {
        const err = await refusal(...parts, member('ustar-name', '0', 'which'));
        expect(err.member).toBe('gnu-name');
        expect(err.message).toMatch(/tar member "gnu-name" has both a GNU long name and a PAX path "pax-name" \(Go takes the long name/);
      }
      const link = await refusal(ext('x', pax('linkpath', '/pax')), ext('K', '/gnu'), member('l', '2', '', { linkname: 'ustar' }));
      expect(link.message).toMatch(/tar member "l" has both a GNU long link name "\/gnu" and a PAX linkpath "\/pax"/);
      // Each alone is read as every reader reads it.
      expect((await read(ext('L', 'gnu-name'), member('x', '0', 'a'))).map((m) => m.path)).toEqual(['gnu-name']);
      expect((await read(ext('x', pax('path', 'pax-name')), member('x', '0', 'a'))).map((m) => m.path)).toEqual(['pax-name']);
    });

    it('refuses a global PAX header that sets a path (or any member field); ignores one that only comments, as Docker does', async () => {
      const err = await refusal(ext('g', pax('path', 'global-name'), 'pax_global_header'), member('real-name', '0', 'which'));
      expect(err.member).toBe('pax_global_header');
      expect(err.message).toMatch(/is a global PAX header that sets path="global-name" for every member after it \(Docker ignores global headers/);
      for (const key of ['size', 'uid', 'mtime', 'linkpath']) {
        expect((await refusal(ext('g', pax(key, '7')), member('a', '0', 'x'))).message).toContain(`sets ${key}="7"`);
      }
      // git archive's commit id: nothing to disagree on.
      const ok = await read(ext('g', pax('comment', 'c0ffee')), member('real-name', '0', 'which'), member('b', '0', 'b'));
      expect(ok.map((m) => [m.path, m.content])).toEqual([['real-name', 'which'], ['b', 'b']]);
    });

    it('refuses a global header between an extended header and its member, and two extended headers of a kind for one member', async () => {
      expect((await refusal(ext('x', pax('path', 'p')), ext('g', pax('comment', 'c')), member('m', '0', 'x'))).message).toMatch(/between an extended header and the member it describes/);
      expect((await refusal(ext('L', 'long'), ext('g', pax('comment', 'c')), member('m', '0', 'x'))).message).toMatch(/between an extended header/);
      expect((await refusal(ext('x', pax('path', 'first')), ext('x', pax('mtime', '1')), member('m', '0', 'x'))).message).toMatch(/tar member "m" comes with two PAX headers \(Go reads the last/);
      expect((await refusal(ext('L', 'one'), ext('L', 'two'), member('m', '0', 'x'))).message).toMatch(/tar member "two" comes with two GNU long names/);
    });

    it('refuses a "0" file named like a folder and a link or folder with a size; reads an old "\\0" folder', async () => {
      expect((await refusal(member('d/', '0', 'body'))).message).toMatch(/tar member "d\/" is a regular file \(type "0"\) whose name ends in "\/"/);
      expect((await refusal(member('s', '2', '', { linkname: 't', sizeField: '00000001000\0' }), member('hidden', '0', 'x'))).message).toMatch(/tar member "s" is a symlink whose header gives a size of 512 bytes/);
      expect((await refusal(member('h', '1', '', { linkname: 'a', sizeField: '00000000001\0' }))).message).toMatch(/is a hardlink whose header gives a size/);
      expect((await read(member('old/', '\0'), member('old/f', '0', 'f'))).map((m) => [m.path, m.type])).toEqual([['old/', 'directory'], ['old/f', 'file']]);
    });

    it('refuses headers after a zero block, and sparse files', async () => {
      const err = await refusal(member('a', '0', 'a'), Buffer.alloc(512), member('hidden', '0', 'x'));
      expect(err.message).toMatch(/tar member "hidden" follows a zero block/);
      await expect(read(ext('x', pax('GNU.sparse.major', '1') + pax('GNU.sparse.minor', '0') + pax('GNU.sparse.name', 'real')), member('GNUSparseFile.0/real', '0', 'x')))
        .rejects.toThrow(/tar member "real" is a sparse file/);
    });

    it('reads numbers, the ustar prefix and empty PAX values as Go does', async () => {
      // Leading NULs and spaces are padding to Go: this size is 5, not 0.
      expect((await read(member('n', '0', 'hello', { sizeField: '\0\0 00000005\0' }), member('next', '0', 'x'))).map((m) => [m.path, m.content])).toEqual([['n', 'hello'], ['next', 'x']]);
      // The prefix field exists in ustar headers only: not in GNU or v7 ones (GNU keeps times there).
      expect((await read(member('name', '0', 'x', { prefix: 'pre' }))).map((m) => m.path)).toEqual(['pre/name']);
      expect((await read(member('name', '0', 'x', { prefix: 'pre', magic: 'ustar  \0' }))).map((m) => m.path)).toEqual(['name']);
      expect((await read(member('name', '0', 'x', { prefix: 'pre', magic: 'ustarX00' }))).map((m) => m.path)).toEqual(['name']);
      // An empty PAX value keeps the ustar field (POSIX, Go).
      expect((await read(ext('x', pax('path', 'p') + pax('path', '')), member('ustar', '0', 'x'))).map((m) => m.path)).toEqual(['ustar']);
      await expect(read(member('neg', '0', '', { sizeField: Buffer.from([0xff, ...Array(11).fill(0xff)]).toString('latin1') }))).rejects.toThrow(/negative size/);
      await expect(read(ext('x', pax('size', '0x10')), member('m', '0', ''))).rejects.toThrow(/PAX size that is not a number/);
    });
  });
});

/** One hand-built header block (ustar unless `magic` says otherwise), checksum included, then the body. */
function member(name: string, flag: string, data = '', o: { linkname?: string; sizeField?: string; prefix?: string; magic?: string } = {}): Buffer {
  const body = Buffer.from(data);
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(o.sizeField ?? `${body.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  b.write('14614544260\0', 136);
  b.write(flag, 156, 'latin1');
  b.write(o.linkname ?? '', 157, 100, 'utf8');
  b.write(o.magic ?? 'ustar\u000000', 257, 8, 'latin1');
  b.write(o.prefix ?? '', 345, 155, 'utf8');
  b.write('        ', 148);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([b, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** An extended header: PAX (`x`, `g`) records or a GNU long name (`L`) or link (`K`). */
const ext = (flag: 'x' | 'g' | 'L' | 'K', data: string, name = flag === 'L' || flag === 'K' ? '././@LongLink' : 'PaxHeader') => member(name, flag, data);

/** One PAX record: "<len> key=value\n", the length counting itself. */
function pax(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let n = Buffer.byteLength(body) + 1;
  while (String(n).length + Buffer.byteLength(body) !== n) n++;
  return `${n}${body}`;
}


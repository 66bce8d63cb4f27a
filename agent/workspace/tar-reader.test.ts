import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-pack.ts';
import { readTar, TarFormatError, type TarHeader } from './tar-reader.ts';

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
});

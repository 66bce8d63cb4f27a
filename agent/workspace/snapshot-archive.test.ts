import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafeArchiveError } from './archive-guard.ts';
import { checkSnapshot, packWorkspace, restoreTar } from './snapshot-archive.ts';

// Docker's get-archive of /root/workspace is a tar whose first member is "workspace/": GNU
// tar -C /root workspace writes the same layout.
const dir = mkdtempSync(join(tmpdir(), 'wharf-snap-'));
const ws = join(dir, 'parent', 'workspace');

function dockerLike(): Buffer {
  return execFileSync('tar', ['-C', join(dir, 'parent'), '--format=pax', '-cf', '-', 'workspace'], { maxBuffer: 64 * 1024 * 1024 });
}
const pieces = (b: Buffer, n: number) => (function* () { for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n); })();

beforeAll(() => {
  mkdirSync(join(ws, 'sub'), { recursive: true });
  mkdirSync(join(ws, '.cache'), { recursive: true });
  writeFileSync(join(ws, 'a.txt'), 'alpha');
  writeFileSync(join(ws, 'sub', 'big.bin'), Buffer.alloc(3_000_000, 1));
  writeFileSync(join(ws, '.cache', 'junk'), 'junk');
  symlinkSync('a.txt', join(ws, 'link'));
  for (const p of ['a.txt', 'sub/big.bin', '.cache/junk', 'sub', '.cache', '.']) utimesSync(join(ws, p), 1_600_000_000, 1_600_000_000);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packWorkspace', () => {
  it('gives byte-identical snapshots of an unchanged workspace, however the Engine chunks its stream', async () => {
    const tar = dockerLike();
    const one = await packWorkspace([tar], { exclude: ['.cache'], out: join(dir, 's1') });
    const two = await packWorkspace(pieces(tar, 1000), { exclude: ['.cache'], out: join(dir, 's2') });
    // Another read: GNU tar's PAX headers carry atime/ctime, which the snapshot leaves out.
    const three = await packWorkspace(pieces(dockerLike(), 65536), { exclude: ['.cache'], out: join(dir, 's3') });
    expect(two.sha256).toBe(one.sha256);
    expect(three.sha256).toBe(one.sha256);
    expect(readFileSync(join(dir, 's3')).equals(readFileSync(join(dir, 's1')))).toBe(true);
    expect(one).toMatchObject({ files: 2, directories: 2, links: 1, excluded: 2 });
    expect(one.size).toBeLessThan(100_000);
  });

  it('changes digest and manifest when a file changes', async () => {
    const before = await packWorkspace([dockerLike()], { exclude: [], out: join(dir, 'b') });
    writeFileSync(join(ws, 'a.txt'), 'alphA');
    utimesSync(join(ws, 'a.txt'), 1_600_000_000, 1_600_000_000);
    const after = await packWorkspace([dockerLike()], { exclude: [], out: join(dir, 'c') });
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.manifest).toBe(before.manifest); // same paths, sizes, mtimes: only the bytes tell
    writeFileSync(join(ws, 'a.txt'), 'alpha');
    utimesSync(join(ws, 'a.txt'), 1_600_000_000, 1_600_000_000);
  });

  it('restores under the target folder\'s name, which GNU tar extracts with contents, links and mtimes', async () => {
    const snap = join(dir, 'r.zst');
    await packWorkspace([dockerLike()], { exclude: ['.cache'], out: snap });
    expect(await checkSnapshot(snap)).toMatchObject({ files: 2, bytes: 3_000_005 });
    const chunks: Buffer[] = [];
    for await (const c of restoreTar(snap, 'work')) chunks.push(c as Buffer);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xf', '-'], { input: Buffer.concat(chunks) });
    expect(readFileSync(join(out, 'work', 'a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(out, 'work', 'sub', 'big.bin')).length).toBe(3_000_000);
    expect(readlinkSync(join(out, 'work', 'link'))).toBe('a.txt');
    expect(lstatSync(join(out, 'work', 'a.txt')).mtimeMs).toBe(1_600_000_000_000);
    expect(() => lstatSync(join(out, 'work', '.cache'))).toThrow();
  });

  it('checkSnapshot refuses a crafted archive and a file that is not zstd', async () => {
    const crafted = execFileSync('python3', ['-c', `
import tarfile, io, sys
b = io.BytesIO()
with tarfile.open(fileobj=b, mode='w') as t:
    i = tarfile.TarInfo('../x'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))
sys.stdout.buffer.write(b.getvalue())
`]);
    writeFileSync(join(dir, 'crafted.zst'), zstdCompressSync(crafted));
    await expect(checkSnapshot(join(dir, 'crafted.zst'))).rejects.toThrow(UnsafeArchiveError);
    writeFileSync(join(dir, 'plain'), 'not zstd at all');
    await expect(checkSnapshot(join(dir, 'plain'))).rejects.toThrow(/not zstd-compressed tar/);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveGuard, normalizeMember, UnsafeArchiveError } from './archive-guard.ts';
import { encodeHeader, END_OF_ARCHIVE, padding } from './tar-pack.ts';
import { readTar, type TarHeader } from './tar-reader.ts';

// Crafted archives from real peers (GNU tar with -P and --transform, Python's tarfile), read
// by the same reader a restore uses and checked member by member like a restore does.
const dir = mkdtempSync(join(tmpdir(), 'wharf-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(file: string): Promise<number> {
  const guard = new ArchiveGuard();
  for await (const { header } of readTar([readFileSync(file)])) guard.check(header);
  return guard.members;
}

/** A tar made by Python's tarfile: [name, kind, data or link target]. */
function python(name: string, members: [string, 'file' | 'dir' | 'symlink' | 'hardlink' | 'chr', string][]): string {
  const file = join(dir, name);
  execFileSync('python3', ['-c', `
import tarfile, io, sys, json
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for name, kind, data in json.loads(sys.argv[2]):
        i = tarfile.TarInfo(name)
        if kind == 'file':
            i.size = len(data); t.addfile(i, io.BytesIO(data.encode())); continue
        i.type = {'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'hardlink': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE}[kind]
        i.linkname = data
        t.addfile(i)
`, file, JSON.stringify(members)]);
  return file;
}

describe('ArchiveGuard', () => {
  it('accepts a normal workspace: files, folders, symlinks pointing anywhere, hardlinks inside', async () => {
    const file = python('ok.tar', [
      ['./', 'dir', ''], ['a.txt', 'file', 'a'], ['sub/', 'dir', ''], ['sub/b', 'file', 'b'],
      ['lib', 'symlink', '/usr/lib'], ['up', 'symlink', '../../etc'], ['h', 'hardlink', 'sub/b'],
      // A symlink replaced by a real folder may then hold files.
      ['swap', 'symlink', '/etc'], ['swap', 'dir', ''], ['swap/f', 'file', 'f'],
    ]);
    expect(await check(file)).toBe(10);
  });

  it('refuses a ".." member made by GNU tar -P', async () => {
    mkdirSync(join(dir, 'g/inner'), { recursive: true });
    writeFileSync(join(dir, 'g/x'), 'escape');
    const file = join(dir, 'dotdot.tar');
    execFileSync('tar', ['-C', join(dir, 'g/inner'), '-P', '-cf', file, '../x']);
    await expect(check(file)).rejects.toThrow(/member "\.\.\/x" its path has a "\.\." component/);
  });

  it('refuses an absolute member made by GNU tar -P', async () => {
    writeFileSync(join(dir, 'abs.txt'), 'abs');
    const file = join(dir, 'abs.tar');
    execFileSync('tar', ['-P', '-cf', file, join(dir, 'abs.txt')]);
    await expect(check(file)).rejects.toThrow(/is an absolute path/);
  });

  it('refuses a write through a symlink made earlier (GNU tar, --transform)', async () => {
    const g = join(dir, 'sym');
    mkdirSync(g);
    symlinkSync('/etc', join(g, 'link'));
    writeFileSync(join(g, 'payload'), 'root::0:0::/:/bin/sh\n');
    const file = join(dir, 'through.tar');
    execFileSync('tar', ['-C', g, '-cf', file, 'link']);
    execFileSync('tar', ['-C', g, '-rf', file, '--transform', 's,^payload$,link/passwd,', 'payload']);
    await expect(check(file)).rejects.toThrow(/member "link\/passwd" its path would be written through the symlink "link"/);
  });

  it('refuses Python-crafted escapes: nested "..", "./" absolute, symlinked parent deep down, hardlink out, devices', async () => {
    const cases: [string, [string, 'file' | 'dir' | 'symlink' | 'hardlink' | 'chr', string][], RegExp][] = [
      ['nested', [['a/b/../../../x', 'file', 'x']], /"\.\." component/],
      ['abs', [['/etc/cron.d/x', 'file', 'x']], /absolute path/],
      ['deep', [['a/', 'dir', ''], ['a/l', 'symlink', '/root'], ['a/l/.ssh/authorized_keys', 'file', 'k']], /through the symlink "a\/l"/],
      ['relative-link', [['l', 'symlink', '../../..'], ['l/x', 'file', 'x']], /through the symlink "l"/],
      ['hardlink-out', [['h', 'hardlink', '/etc/shadow']], /hardlink target "\/etc\/shadow" is an absolute path/],
      ['hardlink-up', [['h', 'hardlink', '../outside']], /hardlink target/],
      ['hardlink-through', [['l', 'symlink', '/etc'], ['h', 'hardlink', 'l/shadow']], /through the symlink "l"/],
      ['device', [['null', 'chr', '']], /device node/],
    ];
    for (const [name, members, why] of cases) {
      const err = await check(python(`${name}.tar`, members)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(UnsafeArchiveError);
      expect((err as Error).message, name).toMatch(why);
      expect((err as Error).message).toMatch(/nothing was restored/);
    }
  });

  it('treats a hardlink to a symlink as the symlink it is (Docker links the link): no write through it', async () => {
    // Hand-built: Docker extracts "h" with linkat(2) without AT_SYMLINK_FOLLOW, so "h" is a
    // second "link -> /etc", and "h/wharf-owned" lands in /etc (seen on the real Engine).
    const through = await checkHeaders([sym('link', '/etc'), hard('h', 'link'), file('h/wharf-owned')]).catch((e: unknown) => e);
    expect(through).toBeInstanceOf(UnsafeArchiveError);
    expect((through as UnsafeArchiveError).member).toBe('h/wharf-owned');
    expect((through as Error).message).toMatch(/member "h\/wharf-owned" its path would be written through the symlink "h" made earlier in the archive; nothing was restored/);
    // A chain of hardlinks, and a hardlink's target reached through one.
    await expect(checkHeaders([sym('link', '/etc'), hard('h1', 'link'), hard('h2', 'h1'), file('h2/x')])).rejects.toThrow(/through the symlink "h2"/);
    await expect(checkHeaders([sym('link', '/etc'), hard('h', 'link'), hard('g', 'h/shadow')])).rejects.toThrow(/hardlink target "h\/shadow" would be written through the symlink "h"/);
    // What Docker does safely stays accepted: a hardlinked symlink (cp -al makes them), a file
    // that then replaces the hardlink, a hardlink to a symlink that was replaced first.
    expect(await checkHeaders([sym('link', '/etc'), hard('h', 'link'), file('h'), file('other')])).toBe(4);
    expect(await checkHeaders([sym('link', '/etc'), file('link'), hard('h', 'link')])).toBe(3);
  });

  it('normalizes member names', () => {
    expect(normalizeMember('./')).toBe('');
    expect(normalizeMember('.')).toBe('');
    expect(normalizeMember('./a//b/')).toBe('a/b');
    expect(normalizeMember('/etc/x')).toBe('/etc/x');
    expect(normalizeMember('a/../b')).toBe('a/../b');
  });
});

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, linkname: '', devmajor: 0, devminor: 0 };
const sym = (path: string, to: string): TarHeader => ({ ...base, path, type: 'symlink', linkname: to });
const hard = (path: string, to: string): TarHeader => ({ ...base, path, type: 'hardlink', linkname: to });
const file = (path: string): TarHeader => ({ ...base, path, type: 'file', size: 6 });

/** Members as tar bytes (tar-pack's writer), read back and checked as a restore does. */
async function checkHeaders(headers: TarHeader[]): Promise<number> {
  const bytes = Buffer.concat([...headers.flatMap((h) => (h.size ? [encodeHeader(h), Buffer.from('owned\n'), padding(h.size)] : [encodeHeader(h)])), END_OF_ARCHIVE]);
  const guard = new ArchiveGuard();
  for await (const { header } of readTar([bytes])) guard.check(header);
  return guard.members;
}


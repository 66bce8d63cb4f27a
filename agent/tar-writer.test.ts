import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tarFiles } from './tar-writer.ts';

// Checked by GNU tar, a real peer: what it lists and extracts is what Docker's put-archive gets.
describe('tarFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-tar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files GNU tar extracts with their bytes and modes, long and non-ASCII names included', () => {
    const long = `deep/${'x'.repeat(120)}/file.txt`;
    const archive = tarFiles([
      { path: 'etc/app.ini', content: Buffer.from('a=1\n'), mode: 0o644 },
      { path: 'bin/run.sh', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
      { path: long, content: Buffer.alloc(1000, 7), mode: 0o600 },
      { path: 'données/été.txt', content: Buffer.from('ok'), mode: 0o640 },
      { path: 'empty', content: Buffer.alloc(0), mode: 0o644 },
    ]);
    expect(archive.length % 512).toBe(0);
    const file = join(dir, 'a.tar');
    writeFileSync(file, archive);
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toEqual(['etc/app.ini', 'bin/run.sh', long, 'données/été.txt', 'empty']);
    const out = join(dir, 'out');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', file, '-C', out, '--no-same-owner']);
    expect(readFileSync(join(out, 'etc/app.ini'), 'utf8')).toBe('a=1\n');
    expect(statSync(join(out, 'bin/run.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(out, long))).toEqual(Buffer.alloc(1000, 7));
    expect(statSync(join(out, long)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'données/été.txt'), 'utf8')).toBe('ok');
    expect(statSync(join(out, 'empty')).size).toBe(0);
  });

  it('refuses absolute paths and ".."', () => {
    expect(() => tarFiles([{ path: '/etc/x', content: Buffer.alloc(0), mode: 0o644 }])).toThrow(/relative/);
    expect(() => tarFiles([{ path: 'a/../../x', content: Buffer.alloc(0), mode: 0o644 }])).toThrow(/\.\./);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tarFiles } from '../tar-writer.ts';
import { ArchiveGuard, normalizeMember, UnsafeArchiveError } from './archive-guard.ts';
import { readTar, TarFormatError, type MemberType, type TarHeader } from './tar-reader.ts';

/*
 * Hostile input (issue 19): a snapshot is read back from the store into a container, so its
 * bytes and member names are untrusted. The tar reader refuses random and mutated archives
 * with its own error, never anything else and never a hang; the guard refuses unsafe members
 * with its own error, and whatever it accepts stays inside the workspace.
 */

async function readAll(bytes: Uint8Array): Promise<TarHeader[] | 'refused'> {
  const headers: TarHeader[] = [];
  try {
    for await (const member of readTar([bytes])) {
      headers.push(member.header);
      for await (const chunk of member.body) void chunk;
    }
    return headers;
  } catch (err) {
    if (err instanceof TarFormatError) return 'refused';
    throw err;
  }
}

const segment = fc.oneof(fc.constantFrom('..', '.', '', 'a', 'b', 'link', 'etc', 'passwd'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 6 }).filter((s) => !s.includes('/') && !s.includes('\0')));
const memberPath = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 })).map(([absolute, parts]) => (absolute ? '/' : '') + parts.join('/'));
const member = fc.record({
  path: memberPath,
  type: fc.constantFrom<MemberType>('file', 'directory', 'symlink', 'hardlink', 'char', 'block', 'fifo'),
  linkname: memberPath,
});

describe('snapshots under hostile input', () => {
  it('reads or refuses random bytes and mutated archives with the reader\'s own error', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => { await readAll(bytes); }), { numRuns: 1_000 });
    const good = tarFiles([{ path: 'a.txt', content: Buffer.from('hello'), mode: 0o644 }, { path: `${'long/'.repeat(30)}name.txt`, content: Buffer.alloc(700, 1), mode: 0o600 }]);
    expect(await readAll(good)).not.toBe('refused');
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 10 }), fc.nat(good.length), async (flips, cut) => {
      const mutated = Buffer.from(good);
      for (const [at, byte] of flips) mutated[at] = byte;
      await readAll(mutated.subarray(0, cut));
    }), { numRuns: 2_000 });
  });

  it('accepts only members that stay inside the workspace, refusing the rest with its own error', () => {
    fc.assert(fc.property(fc.array(member, { minLength: 1, maxLength: 12 }), (members) => {
      const guard = new ArchiveGuard();
      const symlinks = new Set<string>();
      for (const m of members) {
        const header = { ...m, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, devmajor: 0, devminor: 0 };
        try {
          guard.check(header);
        } catch (err) {
          if (err instanceof UnsafeArchiveError) return; // the whole archive is refused
          throw err;
        }
        // Accepted: relative, no "..", and not under a symlink the archive made before it.
        const path = normalizeMember(m.path);
        expect(path.startsWith('/')).toBe(false);
        expect(path.split('/')).not.toContain('..');
        expect(['char', 'block']).not.toContain(m.type);
        const parts = path.split('/');
        for (let i = 1; i < parts.length; i++) expect(symlinks.has(parts.slice(0, i).join('/'))).toBe(false);
        if (m.type === 'hardlink') expect(normalizeMember(m.linkname).split('/')).not.toContain('..');
        if (m.type === 'symlink' || (m.type === 'hardlink' && symlinks.has(normalizeMember(m.linkname)))) symlinks.add(path);
        else symlinks.delete(path);
      }
    }), { numRuns: 5_000 });
  });
});

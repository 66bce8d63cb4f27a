import type { TarHeader } from './tar-reader.ts';

/*
 * What a snapshot may contain before anything of it is written into a container (issue 6
 * "Workspaces"): member paths relative to the workspace. Refused, for the whole archive:
 * - an absolute path ("/etc/passwd"), for a member or a hardlink's target;
 * - a ".." component anywhere ("../x", "a/../../x");
 * - a write through a symlink: a member (or hardlink target) whose parent path is a symlink
 *   the archive made earlier ("link -> /etc", then "link/passwd"), wherever the link points.
 *   A hardlink to a symlink is a symlink too (issue 14): Docker extracts it with Go's
 *   os.Link, linkat(2) without AT_SYMLINK_FOLLOW, which links the symlink itself, so
 *   "link -> /etc", "h" hardlinked to "link", then "h/passwd" writes to /etc/passwd;
 * - device nodes (char, block).
 * Symlinks themselves may point anywhere (a workspace may link to /usr/lib): reading them
 * inside the container is the container's business; writing through them at restore is not.
 * Pure: one `check` per member, in archive order, each member read as Docker extracts it (a
 * member replaces whatever was at its path). Archives that tar readers read differently are
 * refused before they get here, by the reader (tar-reader.ts, AmbiguousTarError).
 */

export class UnsafeArchiveError extends Error {
  readonly member: string;
  constructor(member: string, why: string) {
    super(`the snapshot is refused: member "${member}" ${why}; nothing was restored`);
    this.member = member;
  }
}

/** "./a//b/" → "a/b"; "." and "./" → "" (the workspace itself). Absolute paths keep their "/". */
export function normalizeMember(path: string): string {
  const absolute = path.startsWith('/');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return (absolute ? '/' : '') + parts.join('/');
}

export class ArchiveGuard {
  /** Paths (normalized) that are symlinks, as the archive stands so far. */
  readonly #symlinks = new Set<string>();
  members = 0;

  #checkPath(original: string, path: string, what: string): void {
    if (path.startsWith('/') || original.startsWith('/')) throw new UnsafeArchiveError(original, `${what} is an absolute path`);
    const parts = path ? path.split('/') : [];
    if (parts.includes('..')) throw new UnsafeArchiveError(original, `${what} has a ".." component`);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.#symlinks.has(parent)) throw new UnsafeArchiveError(original, `${what} would be written through the symlink "${parent}" made earlier in the archive`);
    }
  }

  check(h: TarHeader): void {
    this.members++;
    const path = normalizeMember(h.path);
    this.#checkPath(h.path, path, 'its path');
    if (h.type === 'char' || h.type === 'block') throw new UnsafeArchiveError(h.path, 'is a device node');
    let isSymlink = h.type === 'symlink';
    if (h.type === 'hardlink') {
      const target = normalizeMember(h.linkname);
      this.#checkPath(h.path, target, `its hardlink target "${h.linkname}"`);
      if (!target) throw new UnsafeArchiveError(h.path, 'is a hardlink to the workspace itself');
      isSymlink = this.#symlinks.has(target); // a second name for the symlink itself
    }
    if (path === '' && h.type !== 'directory') throw new UnsafeArchiveError(h.path, 'replaces the workspace folder with something other than a folder');
    // A member replaces what was at its path: a symlink there is gone, a new one is recorded.
    if (isSymlink) this.#symlinks.add(path);
    else this.#symlinks.delete(path);
  }
}

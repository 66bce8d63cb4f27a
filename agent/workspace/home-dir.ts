import type Docker from 'dockerode';
import { readTar } from './tar-reader.ts';

/*
 * `~` in workspace.path (issue 6: "the workspace path, `~` expanded for the container's
 * user"): the home folder of the user the container runs as, from the image's /etc/passwd.
 * The volume is mounted at create time, so the path is resolved before the container exists,
 * from a throwaway container of the same image that is never started.
 */

/** The user part of Docker's `User` ("name", "uid", "name:group", "uid:gid"); empty means root. */
function userPart(user: string | undefined): string {
  return (user ?? '').split(':')[0] || 'root';
}

/** The home folder of `user` (a name or a uid) in /etc/passwd text; undefined when it has no entry. */
export function homeOf(passwd: string, user: string | undefined): string | undefined {
  const who = userPart(user);
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === who || f[2] === who) return f[5] || undefined;
  }
  return undefined;
}

/**
 * `~` or `~/rest` with `home`; other paths unchanged. A user without a passwd entry gets `/`
 * for a uid of 0 or "root", else the path is refused: a workspace must land somewhere definite.
 */
export function expandHome(path: string, home: string | undefined, user: string | undefined): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  const base = home ?? (userPart(user) === 'root' || userPart(user) === '0' ? '/root' : undefined);
  if (!base) throw new Error(`workspace.path "${path}": user ${userPart(user)} has no home folder in the image's /etc/passwd; give an absolute path`);
  return (base.replace(/\/+$/, '') + path.slice(1)) || '/';
}

/** The image's /etc/passwd, read from a created (never started) container; '' when it has none. */
export async function readImagePasswd(docker: Docker, image: string): Promise<string> {
  const probe = await docker.createContainer({ Image: image, Entrypoint: ['/nonexistent'], Cmd: [], Labels: { 'wharf.type': 'probe' } });
  try {
    const archive = (await probe.getArchive({ path: '/etc/passwd' })) as unknown as AsyncIterable<Buffer>;
    for await (const member of readTar(archive)) {
      const chunks: Buffer[] = [];
      for await (const c of member.body) chunks.push(c);
      if (member.header.type === 'file') return Buffer.concat(chunks).toString('utf8');
    }
    return '';
  } catch {
    return '';
  } finally {
    await probe.remove({ force: true }).catch(() => undefined);
  }
}

/** What the container's user is: the spec's `--user`, else the image's own USER. */
export async function containerUser(docker: Docker, image: string, specUser: string | undefined): Promise<string | undefined> {
  if (specUser) return specUser;
  const inspect = await docker.getImage(image).inspect();
  return inspect.Config?.User || undefined;
}

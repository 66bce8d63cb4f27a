import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** bench/.work: gitignored, next to the code, so a failed run's configs and logs are easy to find. */
export const WORK_ROOT = new URL('../.work/', import.meta.url).pathname;

export interface WorkDir {
  path: string;
  sub(name: string): string;
  remove(): void;
}

/** A private directory for one bench run: nginx prefixes, configs, pid files, logs, routes. */
export function makeWorkDir(): WorkDir {
  mkdirSync(WORK_ROOT, { recursive: true });
  const path = mkdtempSync(join(WORK_ROOT, 'run-'));
  return {
    path,
    sub(name) {
      const dir = join(path, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

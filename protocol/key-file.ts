import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A 32-byte secret kept in `file` (base64url, 0600 in a 0700 folder), made on first use and
 * read again on every start. Its bytes are never logged.
 */
export function readOrCreateKey(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process made it first: read theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readKey(file);
}

/** The key kept in `file` (base64url). */
export function readKey(file: string): Buffer {
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
}

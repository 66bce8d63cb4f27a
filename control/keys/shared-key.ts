import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readKey } from '../../protocol/key-file.ts';
import type { SharedKeyStore } from '../store/store.ts';

/**
 * A 32-byte key every control holds the same of (the dashboard's cookie key, the apps' cookie
 * key), from the store. The first control to start on an empty store puts it there: the key
 * an older install kept in `legacyFile` (so that its sign-ins survive the upgrade) when there
 * is one, else a new random one. Its bytes are never logged.
 */
export async function sharedKey(store: SharedKeyStore, name: string, legacyFile?: string): Promise<Buffer> {
  const initial = legacyFile && existsSync(legacyFile) ? readKey(legacyFile) : randomBytes(32);
  return Buffer.from(await store.getOrAdd(name, initial.toString('base64url')), 'base64url');
}

import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { parseJson } from '../../protocol/validate.ts';
import { watchFileText } from '../providers/watch-file.ts';

/** Where token signing keys come from: a JWKS file (watched) or URL (cached). */
export interface KeySource {
  getKey: JWTVerifyGetKey;
  close(): void;
}

/**
 * A JWKS URL is fetched on first use and again, at most once per `cooldownMs`, when a token
 * names a key id it does not hold (key rotation); fetched keys are trusted for ten minutes.
 */
export function remoteKeys(url: string, cooldownMs: number): KeySource {
  const getKey = createRemoteJWKSet(new URL(url), { cooldownDuration: cooldownMs, cacheMaxAge: 600_000, timeoutDuration: 5_000 });
  return { getKey, close() {} };
}

/**
 * Several controls publish the same keys: their JWKS is read from the one `current()` names
 * (the control the route stream comes from), each URL's keys cached as remoteKeys does.
 */
export function followedKeys(controls: readonly string[], current: () => string, cooldownMs: number): KeySource {
  const sources = new Map(controls.map((c) => [c, remoteKeys(new URL('/.well-known/jwks.json', c).href, cooldownMs)]));
  return {
    getKey: (header, token) => (sources.get(current()) ?? sources.get(controls[0])!).getKey(header, token),
    close() {},
  };
}

/** A JWKS file, reloaded on change; a broken file keeps the previous keys and is logged. */
export async function fileKeys(file: string, log: Logger, onChange: () => void): Promise<KeySource> {
  let current: JWTVerifyGetKey | undefined;
  const load = (text: string) => {
    try {
      const jwks = parseJson(text) as JSONWebKeySet;
      if (!Array.isArray(jwks?.keys)) throw new Error('a JWKS file is {"keys": [...]}');
      current = createLocalJWKSet(jwks);
      log.info({ file, keys: jwks.keys.length }, 'jwks loaded');
      onChange();
    } catch (err) {
      if (!current) throw new Error(`${file}: ${(err as Error).message}`);
      log.error({ file, err: (err as Error).message }, 'jwks file not reloaded; keeping the previous keys');
    }
  };
  let firstError: Error | undefined;
  const watcher = await watchFileText(file, (text) => {
    try {
      load(text);
    } catch (err) {
      firstError = err as Error;
    }
  }, (err) => log.error({ file, err: err.message }, 'jwks file watch failed'));
  if (firstError) {
    watcher.close();
    throw firstError;
  }
  return {
    getKey: (header, token) => current!(header, token),
    close: () => watcher.close(),
  };
}

import type { Logger } from 'pino';
import type { SigningKeys } from './signing-keys.ts';

/** How often control looks whether the current signing key is due (and prunes retired keys). */
export const KEY_CHECK_EVERY_MS = 3_600_000; // hourly

/**
 * Rotates the signing key when the current one is older than `maxAgeMs`, and prunes retired
 * keys whose tokens have all expired. Reads the store first: another control may have rotated
 * already, and then this one does not. Returns the new kid, or undefined when none was due.
 */
export async function rotateIfDue(keys: SigningKeys, now: number, maxAgeMs: number): Promise<string | undefined> {
  await keys.refresh();
  const current = keys.list().find((k) => k.kid === keys.currentKid);
  const kid = current && now - current.created >= maxAgeMs ? await keys.rotate(now) : undefined;
  await keys.prune(now);
  return kid;
}

/** Checks at once, then every `everyMs` (unref'd); returns the function that stops it. */
export function startKeyRotation(keys: SigningKeys, clock: () => number, maxAgeMs: number, log: Logger, everyMs = KEY_CHECK_EVERY_MS): () => void {
  const check = async () => {
    try {
      const kid = await rotateIfDue(keys, clock(), maxAgeMs);
      if (kid) log.info({ kid }, 'signing key rotated');
    } catch (err) {
      log.error({ err }, 'signing key rotation failed');
    }
  };
  void check();
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

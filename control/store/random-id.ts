import { getRandomValues } from 'node:crypto';

/** Lower-case letters and digits: safe in DNS labels, URLs and file names, and selected whole by a double click. */
export const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters drawn uniformly from `alphabet` (rejection sampling, so no character is favoured). */
export function randomString(length: number, alphabet = LOWER_ALNUM): string {
  if (alphabet.length < 2 || alphabet.length > 256) throw new RangeError('alphabet must have 2 to 256 characters');
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * An id such as `i-7f3k2a9c`: a prefix naming the kind, then 8 random characters (36⁸ ≈ 2.8 × 10¹²).
 * Instance ids are host labels (`<id>.<appsDomain>`), so every id stays a lower-case DNS label.
 */
export function newId(prefix: string): string {
  return `${prefix}-${randomString(8)}`;
}

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from a control-wide shared key: what single
 * sign-on keeps where others could read it, sealed: the IdP's refresh tokens in the store and
 * the pending sign-ins in the browser's cookie (its PKCE verifier and nonce). `purpose` gives
 * each use its own key, so a value sealed for one is refused by the other.
 * Format: base64url(iv 12 bytes ‖ tag 16 bytes ‖ ciphertext).
 */
export class Sealer {
  readonly #key: Buffer;

  constructor(sharedKey: Buffer, purpose: string) {
    this.#key = Buffer.from(hkdfSync('sha256', sharedKey, Buffer.alloc(0), `wharf sso ${purpose}`, 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The plain text, or undefined when `sealed` is malformed, altered or sealed under another key. */
  open(sealed: string): string | undefined {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { TOKEN_AUDIENCE, TokenClaims } from '../../protocol/token.ts';

/*
 * Control's token signing keys (DESIGN.md "Tokens"): Ed25519, one file per key under
 * `WHARF_HOME/keys/`, published as a JWKS and rotated.
 *
 * Rotation never breaks a token already handed out. A retired key stays in the JWKS until
 * every token it signed has expired: `sign` refuses an `exp` further than `maxTokenLifetimeS`
 * ahead, so no token of a key retired at time R outlives R + maxTokenLifetimeS. The key is
 * published until then plus `skewMs` (gateways' clocks may lag control's), and pruned after.
 * This costs no write per token, unlike tracking each key's last-signed expiry.
 *
 * A rotated key is used at once. A gateway that reads the JWKS by URL refetches it when a
 * token names a key id it does not hold (gateway/auth/key-source.ts), so it picks the new key
 * up on its first token.
 *
 * Files: `<kid>.json`, mode 0600 in a 0700 folder, written aside and renamed so that none is
 * ever half-written:
 *   { "kid", "alg": "EdDSA", "crv": "Ed25519", "created": ISO time, "retired": ISO time | null,
 *     "privateKey": PKCS#8 PEM }
 * The kid is the key's RFC 7638 thumbprint, so it is safe in a file name and names the key
 * unambiguously. A file that cannot be read is reported in `problems` and skipped; the
 * others keep working.
 */

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 86_400; // 24 hours
export const DEFAULT_SKEW_MS = 60_000; // one minute

export interface SigningKeysOptions {
  /** The longest lifetime a token may be signed for, seconds. Default 86 400 (24 h). */
  maxTokenLifetimeS?: number;
  /** How long past its last token's expiry a retired key stays published, ms. Default 60 000. */
  skewMs?: number;
}

/** What `sign` needs; `aud` and `iat` are added. */
export interface SignableClaims {
  sub: string;
  scope: string[];
  /** Unix seconds; at most `maxTokenLifetimeS` after `now`. */
  exp: number;
  jti?: string;
}

/** One key as listed for admins: no secret material. */
export interface KeyInfo {
  kid: string;
  /** Unix ms. */
  created: number;
  /** Unix ms, or null for the current key. */
  retired: number | null;
  /** Unix ms after which the key leaves the JWKS, or null while it is current. */
  publishedUntil: number | null;
}

interface KeyFile {
  kid: string;
  alg: 'EdDSA';
  crv: 'Ed25519';
  created: string;
  retired: string | null;
  privateKey: string;
}

interface Key {
  kid: string;
  created: number;
  retired: number | null;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export class SigningKeys {
  readonly #dir: string;
  readonly #maxLifetimeS: number;
  readonly #skewMs: number;
  /** Oldest first; the last one is current. */
  #keys: Key[] = [];
  /** Files that could not be read as keys, with the reason. */
  readonly problems: { file: string; message: string }[] = [];

  private constructor(dir: string, options: SigningKeysOptions) {
    this.#dir = dir;
    this.#maxLifetimeS = options.maxTokenLifetimeS ?? DEFAULT_MAX_TOKEN_LIFETIME_S;
    this.#skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    if (!(Number.isInteger(this.#maxLifetimeS) && this.#maxLifetimeS > 0)) throw new RangeError('maxTokenLifetimeS must be a positive integer');
    if (!(Number.isFinite(this.#skewMs) && this.#skewMs >= 0)) throw new RangeError('skewMs must be a non-negative number');
  }

  /**
   * Opens the key folder (`WHARF_HOME/keys`), creating it and a first key when it holds none,
   * and prunes keys no longer needed. `now` is Unix ms.
   */
  static open(dir: string, now: number, options: SigningKeysOptions = {}): SigningKeys {
    const keys = new SigningKeys(dir, options);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    keys.#load();
    // No key yet, or every key retired (by hand): make a current one.
    if (keys.#keys.at(-1)?.retired !== null) keys.rotate(now);
    keys.prune(now);
    return keys;
  }

  get maxTokenLifetimeS(): number {
    return this.#maxLifetimeS;
  }

  get currentKid(): string {
    return this.#current().kid;
  }

  /** Makes a new current key; the previous one is retired (still published, no longer used). */
  rotate(now: number): string {
    const key = newKey(now);
    // The new key is on disk before the old one is marked retired: a crash in between leaves
    // two unretired keys, and #load settles that the same way.
    this.#write(key);
    const previous = this.#keys.at(-1);
    this.#keys.push(key);
    if (previous && previous.retired === null) {
      previous.retired = Math.max(now, previous.created);
      this.#write(previous);
    }
    this.prune(now);
    return key.kid;
  }

  /** The public keys gateways verify with: the current key and retired keys still needed. */
  jwks(now: number): JSONWebKeySet {
    return { keys: this.#keys.filter((k) => this.#published(k, now)).map((k) => ({ ...k.publicJwk })) };
  }

  /** Removes keys whose tokens have all expired (files included); returns their kids. */
  prune(now: number): string[] {
    const gone = this.#keys.filter((k) => !this.#published(k, now));
    for (const key of gone) rmSync(this.#file(key.kid), { force: true });
    this.#keys = this.#keys.filter((k) => this.#published(k, now));
    return gone.map((k) => k.kid);
  }

  list(): KeyInfo[] {
    return this.#keys.map((k) => ({ kid: k.kid, created: k.created, retired: k.retired, publishedUntil: this.#publishedUntil(k) }));
  }

  /** Signs a gateway token with the current key: header `alg` EdDSA and `kid`; `aud` and `iat` added. */
  async sign(claims: SignableClaims, now: number): Promise<string> {
    const nowS = Math.floor(now / 1000);
    const payload = { ...claims, aud: TOKEN_AUDIENCE, iat: nowS };
    if (!Value.Check(TokenClaims, payload)) throw new TypeError('claims are not of the Wharf token shape (protocol/token.ts)');
    if (!Number.isInteger(claims.exp) || claims.exp <= nowS) throw new RangeError('exp must be whole Unix seconds after now');
    if (claims.exp > nowS + this.#maxLifetimeS) throw new RangeError(`exp must be at most ${this.#maxLifetimeS} s after now`);
    const key = this.#current();
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  }

  #current(): Key {
    const key = this.#keys.at(-1);
    if (!key || key.retired !== null) throw new Error('no current signing key'); // open() always makes one
    return key;
  }

  #publishedUntil(key: Key): number | null {
    return key.retired === null ? null : key.retired + this.#maxLifetimeS * 1000 + this.#skewMs;
  }

  #published(key: Key, now: number): boolean {
    const until = this.#publishedUntil(key);
    return until === null || now < until;
  }

  #file(kid: string): string {
    return join(this.#dir, `${kid}.json`);
  }

  #write(key: Key): void {
    const body: KeyFile = {
      kid: key.kid,
      alg: 'EdDSA',
      crv: 'Ed25519',
      created: new Date(key.created).toISOString(),
      retired: key.retired === null ? null : new Date(key.retired).toISOString(),
      privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
    const file = this.#file(key.kid);
    rmSync(`${file}.tmp`, { force: true }); // writeFileSync's mode applies only to a new file
    writeFileSync(`${file}.tmp`, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  #load(): void {
    const loaded: Key[] = [];
    for (const name of readdirSync(this.#dir).sort()) {
      const file = join(this.#dir, name);
      if (name.endsWith('.json.tmp')) rmSync(file, { force: true }); // a write cut short
      if (!name.endsWith('.json')) continue;
      try {
        // A key file copied in with looser permissions does not stay readable by others.
        chmodSync(file, 0o600);
        loaded.push(readKey(readFileSync(file, 'utf8'), name.slice(0, -'.json'.length)));
      } catch (err) {
        this.problems.push({ file, message: (err as Error).message });
      }
    }
    loaded.sort((a, b) => a.created - b.created || (a.kid < b.kid ? -1 : 1));
    // Only the newest unretired key is current; an older unretired one (a rotation cut short)
    // counts as retired when its successor was made.
    let current: Key | undefined;
    for (let i = loaded.length - 1; i >= 0; i--) {
      const key = loaded[i];
      if (key.retired !== null) continue;
      if (!current) current = key;
      else {
        key.retired = loaded[i + 1].created;
        this.#write(key);
      }
    }
    // The current key goes last; retired ones keep their order.
    this.#keys = current ? [...loaded.filter((k) => k !== current), current] : loaded;
  }
}

function newKey(now: number): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = toPublicJwk(publicKey);
  return { kid: publicJwk.kid!, created: now, retired: null, privateKey, publicJwk };
}

function readKey(text: string, expectedKid: string): Key {
  const body = JSON.parse(text) as Partial<KeyFile>;
  if (body.alg !== 'EdDSA' || body.crv !== 'Ed25519') throw new Error('not an Ed25519 key file');
  if (typeof body.privateKey !== 'string' || typeof body.created !== 'string') throw new Error('privateKey and created are required');
  const privateKey = createPrivateKey(body.privateKey);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  const publicJwk = toPublicJwk(createPublicKey(privateKey));
  if (publicJwk.kid !== body.kid || body.kid !== expectedKid) throw new Error('kid does not match the key or the file name');
  const created = Date.parse(body.created);
  const retired = body.retired == null ? null : Date.parse(body.retired);
  if (Number.isNaN(created) || Number.isNaN(retired)) throw new Error('created and retired must be ISO times');
  return { kid: body.kid, created, retired, privateKey, publicJwk };
}

/** The public JWK with `kid` (RFC 7638 thumbprint), `alg` EdDSA and `use` sig. */
function toPublicJwk(publicKey: KeyObject): JWK {
  const { kty, crv, x } = publicKey.export({ format: 'jwk' });
  // RFC 7638 §3.2: the required members of an OKP key, in lexicographic order, no spaces.
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  return { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' };
}

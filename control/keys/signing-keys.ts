import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { TOKEN_AUDIENCE, TokenClaims } from '../../protocol/token.ts';
import type { SigningKeyRecord, SigningKeyStore } from '../store/store.ts';

/*
 * Control's token signing keys (DESIGN.md "Tokens"): Ed25519, kept in the store so that every
 * control signs with the same current key and publishes the same JWKS, published and rotated.
 *
 * Rotation never breaks a token already handed out. A retired key stays in the JWKS until
 * every token it signed has expired: `sign` refuses an `exp` further than `maxTokenLifetimeS`
 * ahead, so no token of a key retired at time R outlives R + maxTokenLifetimeS. The key is
 * published until then plus `skewMs` (gateways' clocks may lag control's), and pruned after.
 * This costs no write per token, unlike tracking each key's last-signed expiry.
 *
 * A rotation happens once, whichever control runs it: the store makes a new key current only
 * while the current one is still the one this control knew. The others pick the new key up at
 * their next `refresh` (the JWKS endpoint and the hourly rotation check run one); until then
 * they sign with the retired key, which is still published, so their tokens keep verifying.
 * A gateway that reads the JWKS by URL refetches it when a token names a key id it does not
 * hold (gateway/auth/key-source.ts), so it picks a new key up on its first token.
 *
 * The kid is the key's RFC 7638 thumbprint. Installs from before keys lived in the store kept
 * them as files, `WHARF_HOME/keys/<kid>.json`; the first start on an empty store imports them
 * (a file that cannot be read is reported in `problems` and skipped).
 */

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 86_400; // 24 hours
export const DEFAULT_SKEW_MS = 60_000; // one minute
/** A JWKS request reads the store at most this often: the endpoint needs no sign-in. */
const REFRESH_AT_MOST_EVERY_MS = 1_000;

export interface SigningKeysOptions {
  /** The longest lifetime a token may be signed for, seconds. Default 86 400 (24 h). */
  maxTokenLifetimeS?: number;
  /** How long past its last token's expiry a retired key stays published, ms. Default 60 000. */
  skewMs?: number;
  /** An older install's key folder (`WHARF_HOME/keys`), imported when the store holds no key. */
  importFrom?: string;
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
  readonly #store: SigningKeyStore;
  readonly #maxLifetimeS: number;
  readonly #skewMs: number;
  /** Oldest first; the last one is current. */
  #keys: Key[] = [];
  #refreshed = -Infinity;
  /** Keys that could not be read (an imported file, a stored row), with the reason. */
  readonly problems: { file: string; message: string }[] = [];

  private constructor(store: SigningKeyStore, options: SigningKeysOptions) {
    this.#store = store;
    this.#maxLifetimeS = options.maxTokenLifetimeS ?? DEFAULT_MAX_TOKEN_LIFETIME_S;
    this.#skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    if (!(Number.isInteger(this.#maxLifetimeS) && this.#maxLifetimeS > 0)) throw new RangeError('maxTokenLifetimeS must be a positive integer');
    if (!(Number.isFinite(this.#skewMs) && this.#skewMs >= 0)) throw new RangeError('skewMs must be a non-negative number');
  }

  /**
   * The store's keys: imported from `options.importFrom` when it holds none, a first key made
   * when none is current, and keys no longer needed pruned. `now` is Unix ms.
   */
  static async open(store: SigningKeyStore, now: number, options: SigningKeysOptions = {}): Promise<SigningKeys> {
    const keys = new SigningKeys(store, options);
    if (options.importFrom && existsSync(options.importFrom)) {
      const found = readKeyFiles(options.importFrom);
      keys.problems.push(...found.problems);
      if (found.keys.length > 0) await store.importIfEmpty(found.keys);
    }
    await keys.refresh();
    // No key yet, or every key retired (by hand): make a current one.
    if (keys.#keys.at(-1)?.retired !== null) await keys.rotate(now);
    await keys.prune(now);
    return keys;
  }

  get maxTokenLifetimeS(): number {
    return this.#maxLifetimeS;
  }

  get currentKid(): string {
    return this.#current().kid;
  }

  /** Reads the keys again: another control may have rotated. */
  async refresh(): Promise<void> {
    const loaded: Key[] = [];
    for (const record of await this.#store.list()) {
      try {
        loaded.push(fromRecord(record));
      } catch (err) {
        this.problems.push({ file: `store: signing key ${record.kid}`, message: (err as Error).message });
      }
    }
    // The current key goes last; retired ones keep their order.
    const current = loaded.findLast((k) => k.retired === null);
    this.#keys = current ? [...loaded.filter((k) => k.retired !== null), current] : loaded;
    this.#refreshed = Date.now();
  }

  /** `refresh`, unless one ran within the last second. */
  async refreshSoon(): Promise<void> {
    if (Date.now() - this.#refreshed >= REFRESH_AT_MOST_EVERY_MS) await this.refresh();
  }

  /**
   * Makes a new current key; the previous one is retired (still published, no longer used).
   * Returns the current kid afterwards: the new one, or the one another control made first.
   */
  async rotate(now: number): Promise<string> {
    const key = newKey(now);
    const previous = this.#keys.at(-1);
    const known = previous?.retired === null ? previous.kid : undefined;
    await this.#store.rotate(known, toRecord(key));
    await this.refresh();
    await this.prune(now);
    return this.currentKid;
  }

  /** The public keys gateways verify with: the current key and retired keys still needed. */
  jwks(now: number): JSONWebKeySet {
    return { keys: this.#keys.filter((k) => this.#published(k, now)).map((k) => ({ ...k.publicJwk })) };
  }

  /** Removes keys whose tokens have all expired; returns their kids. */
  async prune(now: number): Promise<string[]> {
    const gone = this.#keys.filter((k) => !this.#published(k, now));
    for (const key of gone) await this.#store.remove(key.kid);
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
}

function toRecord(key: Key): SigningKeyRecord {
  return { kid: key.kid, created: key.created, retired: key.retired, privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function fromRecord(record: SigningKeyRecord): Key {
  const privateKey = createPrivateKey(record.privateKey);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  const publicJwk = toPublicJwk(createPublicKey(privateKey));
  if (publicJwk.kid !== record.kid) throw new Error('kid does not match the key');
  return { kid: record.kid, created: record.created, retired: record.retired, privateKey, publicJwk };
}

/**
 * An older install's key files, oldest first. Only the newest unretired key stays current; an
 * older unretired one (a rotation cut short) counts as retired when its successor was made.
 */
function readKeyFiles(dir: string): { keys: SigningKeyRecord[]; problems: { file: string; message: string }[] } {
  const keys: SigningKeyRecord[] = [];
  const problems: { file: string; message: string }[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    const file = join(dir, name);
    try {
      keys.push(toRecord(readKey(readFileSync(file, 'utf8'), name.slice(0, -'.json'.length))));
    } catch (err) {
      problems.push({ file, message: (err as Error).message });
    }
  }
  keys.sort((a, b) => a.created - b.created || (a.kid < b.kid ? -1 : 1));
  let current = false;
  for (let i = keys.length - 1; i >= 0; i--) {
    if (keys[i].retired !== null) continue;
    if (current) keys[i].retired = keys[i + 1].created;
    current = true;
  }
  return { keys, problems };
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

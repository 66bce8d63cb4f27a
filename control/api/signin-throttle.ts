import { isIP } from 'node:net';
import type { Clock } from '../store/store.ts';

/*
 * Sign-in throttling (issue 15 "Security"). Two tallies of failed password sign-ins, both
 * kept in memory, bounded, and forgotten an hour after their last failure:
 *
 * - per client address: after `freeFailures` a growing delay before the password is even
 *   checked, and from `refuseAfter` failures a refusal (429 CTL_TOO_MANY_SIGNINS with
 *   Retry-After, RFC 9110 §10.2.3) that doubles with each failure after one, up to 15 min;
 * - per user name: the same growing delay, never a refusal. A refusal by name would let
 *   anyone lock a person out by typing wrong passwords for them; a delay of at most a few
 *   seconds slows guessing and still lets the right password in.
 *
 * Names are counted whether or not the user exists, so that the delays say nothing about who
 * has an account. An attempt counts as a failure from the moment it starts (a success takes it
 * back), so that parallel guesses see each other instead of all slipping in under the limit.
 * IPv6 clients are counted per /64, the block one subscriber usually holds: otherwise each
 * guess could come from a fresh address.
 */

export interface SigninThrottleOptions {
  /** Failures (per address, per user name) answered without delay: a few typos cost nothing. */
  freeFailures: number;
  /** The delay after the free failures; each further failure doubles it (0: no delays). */
  delayMs: number;
  maxDelayMs: number;
  /** Failures from one address after which it is refused until the refusal time has passed. */
  refuseAfter: number;
  /** The first refusal; each failure after a refusal doubles it. */
  refuseMs: number;
  maxRefuseMs: number;
  /** A tally is forgotten this long after its last failure. */
  forgetMs: number;
  /** Addresses kept, and as many user names: past that the least recently seen go first. */
  maxEntries: number;
}

export const DEFAULT_SIGNIN_THROTTLE: SigninThrottleOptions = {
  freeFailures: 3,
  delayMs: 250, // then 0.5 s, 1 s, 2 s, 4 s
  maxDelayMs: 5_000,
  refuseAfter: 10,
  refuseMs: 60_000, // one minute, then 2, 4, 8 minutes
  maxRefuseMs: 15 * 60_000,
  forgetMs: 3_600_000, // one hour
  maxEntries: 10_000, // a few hundred KiB at most
};

export type SigninVerdict =
  | { kind: 'refuse'; retryAfterS: number }
  | { kind: 'go'; delayMs: number };

interface Tally {
  failures: number;
  last: number;
}

/** Failure tallies by key: a Map kept in order of use, so the least recently used is evicted first. */
class Tallies {
  readonly #map = new Map<string, Tally>();
  readonly #max: number;
  readonly #forgetMs: number;

  constructor(max: number, forgetMs: number) {
    this.#max = max;
    this.#forgetMs = forgetMs;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The live tally of `key` (a stale one is dropped), moved to the most recently used end. */
  get(key: string, now: number): Tally | undefined {
    const tally = this.#map.get(key);
    if (!tally) return undefined;
    this.#map.delete(key);
    if (now - tally.last >= this.#forgetMs) return undefined;
    this.#map.set(key, tally);
    return tally;
  }

  fail(key: string, now: number): void {
    const tally = this.get(key, now);
    if (tally) {
      tally.failures++;
      tally.last = now;
      return;
    }
    this.#map.set(key, { failures: 1, last: now });
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }

  undo(key: string): void {
    const tally = this.#map.get(key);
    if (tally && --tally.failures <= 0) this.#map.delete(key);
  }

  forget(key: string): void {
    this.#map.delete(key);
  }
}

/** What an address is counted by: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  const bare = address.split('%')[0];
  if (isIP(bare) !== 6) return address;
  const [head, tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 address (`::1.2.3.4`) fills the last two groups.
  const rightGroups = right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - rightGroups).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** The sign-in throttle: pure bookkeeping on an injected clock; the caller waits and answers. */
export class SigninThrottle {
  readonly #o: SigninThrottleOptions;
  readonly #clock: Clock;
  readonly #addresses: Tallies;
  readonly #users: Tallies;

  constructor(clock: Clock, options: Partial<SigninThrottleOptions> = {}) {
    this.#o = { ...DEFAULT_SIGNIN_THROTTLE, ...options };
    this.#clock = clock;
    this.#addresses = new Tallies(this.#o.maxEntries, this.#o.forgetMs);
    this.#users = new Tallies(this.#o.maxEntries, this.#o.forgetMs);
  }

  /** Addresses and user names tallied (for tests of the bound). */
  get size(): { addresses: number; users: number } {
    return { addresses: this.#addresses.size, users: this.#users.size };
  }

  /**
   * A sign-in attempt from `address` for `user`: refused, or to be checked after `delayMs`.
   * A refused attempt is not counted (the refusal would otherwise never end while a client
   * keeps trying); an allowed one counts as a failure until `succeeded` is called.
   */
  attempt(address: string, user: string): SigninVerdict {
    const now = this.#clock();
    const key = addressKey(address);
    const byAddress = this.#addresses.get(key, now);
    if (byAddress && byAddress.failures >= this.#o.refuseAfter) {
      const until = byAddress.last + this.#refusalMs(byAddress.failures);
      if (now < until) return { kind: 'refuse', retryAfterS: Math.ceil((until - now) / 1000) };
    }
    const byUser = this.#users.get(user, now);
    const delayMs = Math.max(this.#delayMs(byAddress?.failures ?? 0), this.#delayMs(byUser?.failures ?? 0));
    this.#addresses.fail(key, now);
    this.#users.fail(user, now);
    return { kind: 'go', delayMs };
  }

  /**
   * The attempt's password was right: it no longer counts against its address, and the
   * user's tally ends (only someone who knows the password can end it). The address keeps
   * its earlier failures, so that signing in to one's own account does not buy more guesses.
   */
  succeeded(address: string, user: string): void {
    this.#addresses.undo(addressKey(address));
    this.#users.forget(user);
  }

  #delayMs(failures: number): number {
    if (failures < this.#o.freeFailures || this.#o.delayMs === 0) return 0;
    return Math.min(this.#o.delayMs * 2 ** (failures - this.#o.freeFailures), this.#o.maxDelayMs);
  }

  #refusalMs(failures: number): number {
    return Math.min(this.#o.refuseMs * 2 ** (failures - this.#o.refuseAfter), this.#o.maxRefuseMs);
  }
}

import { isIP } from 'node:net';
import type { Clock, SigninFailureStore, SigninTally } from '../store/store.ts';

/*
 * Sign-in throttling (issue 15 "Security"). Two tallies of failed password sign-ins, both
 * kept in the store (so every control on it counts the same guesses, and a restart is no fresh
 * start) and forgotten an hour after their last failure:
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
}

export const DEFAULT_SIGNIN_THROTTLE: SigninThrottleOptions = {
  freeFailures: 3,
  delayMs: 250, // then 0.5 s, 1 s, 2 s, 4 s
  maxDelayMs: 5_000,
  refuseAfter: 10,
  refuseMs: 60_000, // one minute, then 2, 4, 8 minutes
  maxRefuseMs: 15 * 60_000,
  forgetMs: 3_600_000, // one hour: `sweep` deletes older tallies, which bounds the table
};

export type SigninVerdict =
  | { kind: 'refuse'; retryAfterS: number }
  | { kind: 'go'; delayMs: number };

interface Tally {
  failures: number;
  last: number;
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

/** The sign-in throttle: bookkeeping in the store on an injected clock; the caller waits and answers. */
export class SigninThrottle {
  readonly #o: SigninThrottleOptions;
  readonly #clock: Clock;
  readonly #tallies: SigninFailureStore;

  constructor(tallies: SigninFailureStore, clock: Clock, options: Partial<SigninThrottleOptions> = {}) {
    this.#o = { ...DEFAULT_SIGNIN_THROTTLE, ...options };
    this.#clock = clock;
    this.#tallies = tallies;
  }

  /**
   * A sign-in attempt from `address` for `user`: refused, or to be checked after `delayMs`.
   * A refused attempt is not counted (the refusal would otherwise never end while a client
   * keeps trying); an allowed one counts as a failure until `succeeded` is called.
   */
  attempt(address: string, user: string): Promise<SigninVerdict> {
    const now = this.#clock();
    return this.#tallies.attempt(addressKey(address), user, now, this.#o.forgetMs, (byAddress, byUser) => {
      const refusal = this.#refusal(byAddress, now);
      if (refusal) return { count: false, value: refusal };
      const delayMs = Math.max(this.#delayMs(byAddress?.failures ?? 0), this.#delayMs(byUser?.failures ?? 0));
      return { count: true, value: { kind: 'go', delayMs } };
    });
  }

  /**
   * The attempt's password was right: it no longer counts against its address, and the
   * user's tally ends (only someone who knows the password can end it). The address keeps
   * its earlier failures, so that signing in to one's own account does not buy more guesses.
   */
  succeeded(address: string, user: string): Promise<void> {
    return this.#tallies.succeeded(addressKey(address), user);
  }

  /** Forgets tallies an hour (forgetMs) after their last failure: what keeps the table small. */
  sweep(): Promise<number> {
    return this.#tallies.sweep(this.#clock() - this.#o.forgetMs);
  }

  #refusal(byAddress: SigninTally | undefined, now: number): SigninVerdict | undefined {
    if (!byAddress || byAddress.failures < this.#o.refuseAfter) return undefined;
    const until = byAddress.last + this.#refusalMs(byAddress.failures);
    return now < until ? { kind: 'refuse', retryAfterS: Math.ceil((until - now) / 1000) } : undefined;
  }

  #delayMs(failures: number): number {
    if (failures < this.#o.freeFailures || this.#o.delayMs === 0) return 0;
    return Math.min(this.#o.delayMs * 2 ** (failures - this.#o.freeFailures), this.#o.maxDelayMs);
  }

  #refusalMs(failures: number): number {
    return Math.min(this.#o.refuseMs * 2 ** (failures - this.#o.refuseAfter), this.#o.maxRefuseMs);
  }
}

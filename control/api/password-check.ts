import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ControlError } from '../errors.ts';
import type { ControlMetrics } from '../metrics/control-metrics.ts';
import type { Clock, Store, User } from '../store/store.ts';
import { clientAddress } from './client-address.ts';
import { SigninThrottle, type SigninThrottleOptions } from './signin-throttle.ts';

export interface PasswordCheckDeps {
  store: Store;
  clock: Clock;
  /** Counts failed checks (wharf_control_signin_failures_total). */
  metrics?: Pick<ControlMetrics, 'countSigninFailure'>;
  /** DEFAULT_SIGNIN_THROTTLE where left out. */
  throttle?: Partial<SigninThrottleOptions>;
}

/**
 * Every check of a password someone types, under one throttle (signin-throttle.ts): the
 * sign-in, and the current password asked before one's own is changed — else whoever holds a
 * stolen session could guess it there, unthrottled, and lock the user out.
 */
export class PasswordCheck {
  readonly #deps: PasswordCheckDeps;
  readonly #throttle: SigninThrottle;

  /** Forgets old tallies (control calls it every minute). */
  sweep(): Promise<number> {
    return this.#throttle.sweep();
  }

  constructor(deps: PasswordCheckDeps) {
    this.#deps = deps;
    this.#throttle = new SigninThrottle(deps.store.signinFailures, deps.clock, deps.throttle);
  }

  /**
   * The user when `password` is `name`'s, undefined when not (counted). A client over its
   * limit gets 429 CTL_TOO_MANY_SIGNINS with Retry-After; one near it waits first.
   */
  async verify(request: FastifyRequest, reply: FastifyReply, name: string, password: string): Promise<User | undefined> {
    // Behind a gateway, the browser's address rather than the gateway's (client-address.ts).
    const address = await clientAddress(request, this.#deps.store.gateways);
    const verdict = await this.#throttle.attempt(address, name);
    if (verdict.kind === 'refuse') {
      this.#deps.metrics?.countSigninFailure('throttled');
      reply.header('retry-after', String(verdict.retryAfterS));
      throw new ControlError('CTL_TOO_MANY_SIGNINS');
    }
    // Before the password is checked, whether it is right or not: the wait says nothing.
    if (verdict.delayMs > 0) await sleep(verdict.delayMs);
    const user = await this.#deps.store.users.verifyPassword(name, password);
    if (!user) {
      this.#deps.metrics?.countSigninFailure('bad_login');
      return undefined;
    }
    await this.#throttle.succeeded(address, name);
    return user;
  }
}

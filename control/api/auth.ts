import type { FastifyRequest } from 'fastify';
import { ControlError } from '../errors.ts';
import type { Store, User } from '../store/store.ts';

/** The presented `Authorization: Bearer` credential, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * API authentication: a `Bearer` API token, verified through the store. The user is kept per
 * request in a WeakMap rather than on the request object, so no fastify type is augmented.
 */
export class ApiAuth {
  readonly #store: Store;
  readonly #users = new WeakMap<FastifyRequest, User>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** An onRequest hook: 401 CTL_UNAUTHENTICATED unless a valid token is presented. */
  readonly authenticate = async (request: FastifyRequest): Promise<void> => {
    const token = bearer(request.headers.authorization);
    if (!token) throw new ControlError('CTL_UNAUTHENTICATED', 'no API token was sent');
    const user = await this.#store.apiTokens.verify(token);
    if (!user) throw new ControlError('CTL_UNAUTHENTICATED', 'this API token is unknown, malformed or revoked');
    this.#users.set(request, user);
  };

  user(request: FastifyRequest): User {
    const user = this.#users.get(request);
    if (!user) throw new ControlError('CTL_UNAUTHENTICATED');
    return user;
  }

  admin(request: FastifyRequest): User {
    const user = this.user(request);
    if (!user.admin) throw new ControlError('CTL_FORBIDDEN', `user "${user.name}" is not an admin`);
    return user;
  }
}

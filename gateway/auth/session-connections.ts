import type { Duplex } from 'node:stream';

/** Who a connection carried requests for: a user's credential on an instance, and when it was issued. */
interface Grant {
  user: string;
  instance: string;
  /** Unix seconds (control's clock); undefined when the credential did not say. */
  iatS: number | undefined;
}

/**
 * The client connections that requests with a user's credential (app cookie or gateway
 * token) came on, so that a revocation can close them: an HTTP keep-alive connection, or a
 * WebSocket after its upgrade, outlives the check of the request that opened it. A connection
 * is forgotten when it closes.
 */
export class SessionConnections {
  readonly #byUser = new Map<string, Set<Duplex>>();
  readonly #grants = new WeakMap<Duplex, Grant[]>();

  /** Records that `socket` carried a request of `user` on `instance` with a credential issued at `iatS`. */
  track(socket: Duplex, user: string, instance: string, iatS: number | undefined): void {
    let grants = this.#grants.get(socket);
    if (grants === undefined) {
      if (socket.destroyed) return;
      grants = [];
      this.#grants.set(socket, grants);
      socket.once('close', () => this.#forget(socket));
    } else {
      // A keep-alive connection repeats the same credential: one entry, looked up in a short list.
      for (const g of grants) if (g.user === user && g.instance === instance && g.iatS === iatS) return;
    }
    grants.push({ user, instance, iatS });
    let sockets = this.#byUser.get(user);
    if (sockets === undefined) this.#byUser.set(user, (sockets = new Set()));
    sockets.add(socket);
  }

  /**
   * Destroys every tracked connection that carried a credential `refuses` now refuses (a
   * WebSocket's upstream goes with it); returns how many.
   */
  closeRefused(refuses: (user: string, instance: string, iatS: number | undefined) => boolean): number {
    let closed = 0;
    for (const [user, sockets] of this.#byUser) {
      for (const socket of sockets) {
        const grants = this.#grants.get(socket) ?? [];
        if (!socket.destroyed && grants.some((g) => g.user === user && refuses(g.user, g.instance, g.iatS))) {
          socket.destroy();
          closed++;
        }
      }
    }
    return closed;
  }

  /** Connections tracked (open ones). */
  get size(): number {
    let n = 0;
    const seen = new Set<Duplex>();
    for (const sockets of this.#byUser.values()) for (const s of sockets) if (!seen.has(s)) { seen.add(s); n++; }
    return n;
  }

  #forget(socket: Duplex): void {
    for (const g of this.#grants.get(socket) ?? []) {
      const sockets = this.#byUser.get(g.user);
      sockets?.delete(socket);
      if (sockets?.size === 0) this.#byUser.delete(g.user);
    }
    this.#grants.delete(socket);
  }
}

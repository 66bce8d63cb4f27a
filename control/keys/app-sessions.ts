import { sessionsLine, type Revocation, type SessionState } from '../../protocol/route-stream.ts';
import type { Store } from '../store/store.ts';

/*
 * App sessions as control hands them to every gateway on the route stream (docs/sessions.md):
 * the one key app cookies are signed with, so that every gateway accepts the same cookies,
 * and the revocations, so that every gateway refuses the same ones and closes their live
 * connections.
 *
 * A revocation refuses the app cookies and gateway tokens of a user issued before a time
 * (control's clock, Unix ms), on one instance or on every one (`*`): a changed password, a
 * removed or demoted user. New sign-ins after it work again. Revocations live in the store
 * (compacted per user and instance) and are held here in memory as well, because the route
 * stream sends them with every snapshot and checks run without I/O.
 */

export type SessionsListener = (line: string) => void;

export class AppSessions {
  readonly #store: Store;
  readonly #key: string;
  /** `user\0instance` → revocation, as the store compacts them. */
  readonly #revoked = new Map<string, Revocation>();
  readonly #listeners = new Set<SessionsListener>();
  #line: string | undefined;
  #loading: Promise<void> | undefined;

  constructor(store: Store, key: Buffer) {
    if (key.length < 32) throw new Error('the app session key must be at least 32 bytes');
    this.#store = store;
    this.#key = key.toString('base64url');
  }

  /** Reads the stored revocations (once; later calls wait for the same read). */
  load(): Promise<void> {
    this.#loading ??= this.#store.revocations.list().then((list) => {
      for (const r of list) this.#remember(r);
      this.#line = undefined;
    });
    return this.#loading;
  }

  /** What gateways are sent. Holds the key: never log it. */
  state(): SessionState {
    return { key: this.#key, revoked: [...this.#revoked.values()] };
  }

  /** The state as a `sessions` line of the route stream, encoded once per change. */
  line(): string {
    return (this.#line ??= sessionsLine(this.state()));
  }

  revocations(): Revocation[] {
    return [...this.#revoked.values()];
  }

  /** Called with the new `sessions` line after every change; returns the unsubscribe function. */
  subscribe(listener: SessionsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The latest time any revocation of `user` names, Unix ms: tokens for them are dated no
   * earlier (GatewayTokens), so that a new sign-in in the same second as a revocation is not
   * taken for an old one (a token's iat has whole seconds).
   */
  notBefore(user: string): number | undefined {
    let latest: number | undefined;
    for (const r of this.#revoked.values()) if (r.user === user && (latest === undefined || r.before > latest)) latest = r.before;
    return latest;
  }

  /** Refuses `user`'s app sessions on `instance` (default: every one) issued before `before` (ms); stored, then sent to every gateway. */
  async revoke(user: string, before: number, instance = '*'): Promise<void> {
    await this.load();
    // Tokens issued since the user's last revocation may be dated up to the whole second after
    // it (GatewayTokens): a revocation within that second must still reach past them.
    const last = this.notBefore(user);
    const at = last === undefined ? before : Math.max(before, Math.ceil(last / 1000) * 1000 + 1);
    const revocation = { user, instance, before: at };
    await this.#store.revocations.add(revocation);
    this.#remember(revocation);
    this.#line = undefined;
    const line = this.line();
    for (const listener of [...this.#listeners]) listener(line);
    // The other controls' gateways must refuse these sessions too.
    await this.#store.changes.publish({ kind: 'sessions' });
  }

  /**
   * Reads the stored revocations again: another control added some. Tells the listeners when
   * anything changed; returns them all.
   */
  async reload(): Promise<Revocation[]> {
    await this.load();
    const before = this.line();
    for (const r of await this.#store.revocations.list()) this.#remember(r);
    this.#line = undefined;
    const line = this.line();
    if (line !== before) for (const listener of [...this.#listeners]) listener(line);
    return this.revocations();
  }

  /** The same compaction as the store's: the latest time per (user, instance); `*` covers the instances. */
  #remember(r: Revocation): void {
    const key = `${r.user}\0${r.instance}`;
    const was = this.#revoked.get(key);
    if (was && was.before >= r.before) return;
    const all = this.#revoked.get(`${r.user}\0*`);
    if (r.instance !== '*' && all && all.before >= r.before) return;
    this.#revoked.set(key, { user: r.user, instance: r.instance, before: r.before });
    if (r.instance !== '*') return;
    for (const [k, other] of this.#revoked) if (other.user === r.user && other.instance !== '*' && other.before <= r.before) this.#revoked.delete(k);
  }
}

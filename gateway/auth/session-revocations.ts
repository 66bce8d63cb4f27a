import type { Revocation } from '../../protocol/route-stream.ts';

/**
 * The revocations control sends on the route stream (docs/sessions.md), as a lookup: is a
 * credential of this user, issued at this time, refused on this instance? A plain data
 * structure, replaced whole with each state control sends.
 */
export class SessionRevocations {
  /** user → instance (or `*`) → before, Unix ms. */
  #byUser = new Map<string, Map<string, number>>();

  /** Replaces every revocation with `list`. */
  replace(list: readonly Revocation[]): void {
    const byUser = new Map<string, Map<string, number>>();
    for (const r of list) {
      let of = byUser.get(r.user);
      if (!of) byUser.set(r.user, (of = new Map()));
      of.set(r.instance, Math.max(of.get(r.instance) ?? 0, r.before));
    }
    this.#byUser = byUser;
  }

  /**
   * Whether a credential of `user` issued at `iatS` (Unix seconds, control's clock; undefined
   * when the credential does not say) is refused on `instance`. Without a time it is refused
   * whenever the user has a revocation that applies: it cannot be shown to be newer.
   */
  refuses(user: string, instance: string, iatS: number | undefined): boolean {
    const of = this.#byUser.get(user);
    if (of === undefined) return false;
    const all = of.get('*');
    const one = of.get(instance);
    if (all === undefined && one === undefined) return false;
    const before = Math.max(all ?? 0, one ?? 0);
    return iatS === undefined || iatS * 1000 < before;
  }

  /** Users with a revocation. */
  get size(): number {
    return this.#byUser.size;
  }
}

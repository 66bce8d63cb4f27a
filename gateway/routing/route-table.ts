import type { Route } from '../../protocol/route.ts';

/**
 * An immutable snapshot of routes by id. The gateway swaps whole tables, so a request or a
 * connection always sees one consistent version, and lookups stay O(1).
 *
 * Why two levels: a change of one route must not cost a copy of the whole table (at 10,000
 * routes a fresh Map is milliseconds, and route propagation has a 10 ms budget), yet a
 * table handed out must never change under its holder. So a table is a frozen `base` Map
 * (shared, never written after it is built) plus a small frozen `overlay` of what changed
 * since that base: an entry replaces or adds a route, `null` marks a removal. A change
 * copies only the overlay (O(changes since the last fold)); `compact()` folds the overlay
 * into a new base (O(n)), which LiveRoutes does off the change path, and `with()` does
 * itself only when the overlay grows past a fraction of the base. A lookup is one Map
 * access when there is no overlay and at most two when there is: no slower as the table
 * grows. A persistent tree (HAMT) would make every lookup a walk of several levels
 * instead, on every request, to save work that happens once per route change.
 */
export class RouteTable<E extends { readonly route: Route }> {
  readonly version: number;
  readonly size: number;
  readonly #base: ReadonlyMap<string, E>;
  /** Changes on top of #base (null: removed); undefined when there are none. */
  readonly #overlay: ReadonlyMap<string, E | null> | undefined;

  constructor(entries: Iterable<E> = [], version = 0, layers?: Layers<E>) {
    this.version = version;
    if (layers) {
      this.#base = layers.base;
      this.#overlay = layers.overlay;
      this.size = layers.size;
      return;
    }
    const byId = new Map<string, E>();
    for (const e of entries) byId.set(e.route.id, e);
    this.#base = byId;
    this.#overlay = undefined;
    this.size = byId.size;
  }

  get(id: string): E | undefined {
    const overlay = this.#overlay;
    if (overlay !== undefined) {
      const e = overlay.get(id);
      if (e !== undefined) return e ?? undefined;
    }
    return this.#base.get(id);
  }

  values(): IterableIterator<E> {
    return this.#values();
  }

  *#values(): Generator<E, undefined, undefined> {
    const overlay = this.#overlay;
    if (overlay === undefined) {
      yield* this.#base.values();
      return undefined;
    }
    for (const [id, e] of this.#base) if (!overlay.has(id)) yield e;
    for (const e of overlay.values()) if (e !== null) yield e;
    return undefined;
  }

  /** Whether changes sit in an overlay that compact() would fold. */
  get layered(): boolean {
    return this.#overlay !== undefined;
  }

  /**
   * A new table: this one with `changes` (id → entry, or null to remove) on top. Costs the
   * size of the overlay plus the changes; this table is left as it was.
   */
  with(changes: ReadonlyMap<string, E | null>, version = this.version + 1): RouteTable<E> {
    const overlay = new Map<string, E | null>(this.#overlay ?? []);
    let size = this.size;
    for (const [id, e] of changes) {
      const had = this.get(id) !== undefined;
      if (e === null) {
        if (!had) continue;
        size--;
        // Removing what only the overlay added needs no tombstone.
        if (this.#base.has(id)) overlay.set(id, null);
        else overlay.delete(id);
      } else {
        if (!had) size++;
        overlay.set(id, e);
      }
    }
    const table = RouteTable.#layer(this.#base, overlay, size, version);
    // Past a fraction of the base, copying the overlay on every change costs more than a fold.
    return overlay.size > Math.max(MIN_FOLD, this.#base.size >> 4) ? table.compact() : table;
  }

  /** The same routes and version as one Map (O(n)); this table itself if it has no overlay. */
  compact(): RouteTable<E> {
    const overlay = this.#overlay;
    if (overlay === undefined) return this;
    const base = new Map(this.#base);
    for (const [id, e] of overlay) {
      if (e === null) base.delete(id);
      else base.set(id, e);
    }
    return RouteTable.#layer(base, undefined, base.size, this.version);
  }

  static #layer<E extends { readonly route: Route }>(base: ReadonlyMap<string, E>, overlay: ReadonlyMap<string, E | null> | undefined, size: number, version: number): RouteTable<E> {
    return new RouteTable<E>([], version, new Layers(base, overlay?.size ? overlay : undefined, size));
  }
}

/** Overlays below this size are never folded by with(): copying them is cheap at any table size. */
const MIN_FOLD = 128;

/** RouteTable's internal parts; not exported, so only RouteTable builds a layered table. */
class Layers<E> {
  readonly base: ReadonlyMap<string, E>;
  readonly overlay: ReadonlyMap<string, E | null> | undefined;
  readonly size: number;
  constructor(base: ReadonlyMap<string, E>, overlay: ReadonlyMap<string, E | null> | undefined, size: number) {
    this.base = base;
    this.overlay = overlay;
    this.size = size;
  }
}

/**
 * Splits a Host header into what routing needs: the route id of `<id>.<appsDomain>`, or
 * whether it is one of the main hosts. Case-insensitive, port ignored, one label only.
 */
export class HostMatcher {
  readonly #suffix: string;
  readonly #mainHosts: Set<string>;

  constructor(appsDomain: string, mainHosts: string[]) {
    this.#suffix = `.${appsDomain.toLowerCase()}`;
    this.#mainHosts = new Set(mainHosts.map((h) => h.toLowerCase()));
  }

  /** The bare host name of a Host header, lower-cased, without port; '' if malformed. */
  static hostname(host: string | undefined): string {
    if (!host) return '';
    let name = host;
    if (name.charCodeAt(0) === 91 /* [ */) {
      const end = name.indexOf(']');
      return end < 0 ? '' : name.slice(0, end + 1).toLowerCase();
    }
    const colon = name.indexOf(':');
    if (colon >= 0) name = name.slice(0, colon);
    return name.toLowerCase();
  }

  /** The route id a host names, or undefined. */
  routeId(hostname: string): string | undefined {
    if (!hostname.endsWith(this.#suffix)) return undefined;
    const label = hostname.slice(0, hostname.length - this.#suffix.length);
    return label.length > 0 && !label.includes('.') ? label : undefined;
  }

  isMain(hostname: string): boolean {
    return this.#mainHosts.has(hostname);
  }
}

import type { Route } from '../../protocol/route.ts';

/**
 * An immutable snapshot of routes by id. The gateway swaps whole tables, so a request or a
 * connection always sees one consistent version, and lookups are one Map access.
 */
export class RouteTable<E extends { readonly route: Route }> {
  readonly version: number;
  readonly #byId: ReadonlyMap<string, E>;

  constructor(entries: Iterable<E> = [], version = 0) {
    const byId = new Map<string, E>();
    for (const e of entries) byId.set(e.route.id, e);
    this.#byId = byId;
    this.version = version;
  }

  get(id: string): E | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }

  values(): IterableIterator<E> {
    return this.#byId.values();
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

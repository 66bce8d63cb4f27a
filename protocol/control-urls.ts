/*
 * Several controls on one database (docs/store.md) are one service at several addresses. A
 * client that talks to control (the CLI's WHARF_URL, an agent's WHARF_CONTROL_URL) takes them
 * as a comma-separated list, uses one, and moves on to the next when it cannot be reached.
 * Only a request that never reached a control is sent again to another: one that reached it
 * may have been carried out, and sending it twice is the client's call to make (`idempotent`).
 */

/** Each URL of a comma-separated list, checked (http or https) and without a trailing slash. */
export function parseControlUrls(raw: string): string[] {
  const urls = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) throw new Error('must be control\'s URL such as http://127.0.0.1:7400 (several, for several controls, separated by commas)');
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`must be control's URL such as http://127.0.0.1:7400, got "${text}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got "${text}"`);
    return url.href.replace(/\/+$/, '');
  });
}

/** Codes of a connection that was never made: nothing was sent, so another control may take the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** True when `err` (from fetch, or from node:http) says the request never reached the server. */
export function neverReached(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return NOT_CONNECTED.has(e?.code ?? '') || NOT_CONNECTED.has(e?.cause?.code ?? '');
}

/** Codes of a connection that broke after the request went out: it may or may not have been carried out. */
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** True when `err` says the connection broke once the request was sent (the control died under it). */
export function brokenOff(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return BROKEN.has(e?.code ?? '') || BROKEN.has(e?.cause?.code ?? '');
}

/** The URLs of a list, the one that last answered first. */
export class ControlUrls {
  readonly all: readonly string[];
  #current = 0;

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new Error('no control URL');
    this.all = urls;
  }

  get current(): string {
    return this.all[this.#current];
  }

  /**
   * Runs `attempt` against the current URL; while it fails without having reached that control,
   * against the next ones in turn. The URL that answered stays current; when none could be
   * reached, the last error is thrown. An `idempotent` request (one that may be carried out twice
   * with the effect of once: a status or endpoint report, a heartbeat) also moves on when the
   * connection broke after it was sent, as it does when that control is killed under it.
   */
  async use<T>(attempt: (url: string) => Promise<T>, options: { idempotent?: boolean } = {}): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.all.length; i++) {
      const index = (this.#current + i) % this.all.length;
      try {
        const result = await attempt(this.all[index]);
        this.#current = index;
        return result;
      } catch (err) {
        if (!neverReached(err) && !(options.idempotent && brokenOff(err))) {
          this.#current = index;
          throw err;
        }
        last = err;
      }
    }
    throw last;
  }
}

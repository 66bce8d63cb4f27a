import { ControlUrls, parseControlUrls } from '../../protocol/control-urls.ts';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { LINK_CLAIM_PATH } from '../../protocol/token.ts';
import type { LinkClaims } from './one-time-links.ts';
import { OneTimeLinks } from './one-time-links.ts';
import { AuthFailure } from './token-verifier.ts';

export interface ControlLinksOptions {
  /** Control's URL (WHARF_GATEWAY_CONTROL). */
  control: string;
  /** The gateway key (WHARF_GATEWAY_KEY), sent as `Authorization: Bearer`. */
  key: string;
  /** Trusted CAs for an https control URL, as for the route stream. */
  ca?: string | Buffer | (string | Buffer)[];
  /** How long a claim may take before the link is refused as unverifiable. */
  timeoutMs?: number; // 5_000: 5 s
  log?: Logger;
}

/** How often links this gateway claimed are forgotten once expired. */
const SWEEP_EVERY_MS = 60_000; // one minute
/** At most one warning per this long while control cannot be asked. */
const WARN_EVERY_MS = 10_000; // 10 s

/**
 * One-time links claimed at control (POST LINK_CLAIM_PATH with the gateway key), whose store
 * remembers every used link for all gateways and across restarts: a link works once, on
 * whichever gateway opens it first. While control cannot be asked, links are refused
 * (GW_LINK_UNAVAILABLE) rather than risk a second use; cookies and tokens keep working.
 * Links this gateway claimed are also remembered here, so a repeat is refused without asking.
 */
export class ControlLinks implements LinkClaims {
  readonly #urls: ControlUrls;
  readonly #key: string;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #log: Logger | undefined;
  readonly #claimed = new OneTimeLinks();
  #sweptAt = 0;
  #warnedAt = -Infinity;

  constructor(options: ControlLinksOptions) {
    this.#urls = new ControlUrls(parseControlUrls(options.control));
    this.#key = options.key;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#log = options.log;
    // Its own small pool: claims never queue behind proxied traffic or the route stream.
    this.#agent = new Agent({ connections: 4, keepAliveTimeout: 30_000, connect: { timeout: this.#timeoutMs, ...(options.ca ? { ca: options.ca } : {}) } });
  }

  async claim(jti: string, expS: number): Promise<boolean> {
    const now = Date.now();
    if (now - this.#sweptAt >= SWEEP_EVERY_MS) {
      this.#sweptAt = now;
      this.#claimed.sweep(now);
    }
    if (this.#claimed.has(jti)) return false;
    let status: number;
    let code: string | undefined;
    try {
      // Several controls: the next one when one cannot be reached (they share the used links).
      const res = await this.#urls.use((control) => request(new URL(LINK_CLAIM_PATH.slice(1), `${control}/`), {
        method: 'POST', dispatcher: this.#agent, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs,
        headers: { authorization: `Bearer ${this.#key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jti, exp: expS }),
      }));
      await res.body.dump();
      status = res.statusCode;
      code = [res.headers['x-wharf-error']].flat()[0];
    } catch (err) {
      throw this.#unavailable(describe(err));
    }
    if (status === 201) {
      this.#claimed.claim(jti, expS * 1000);
      return true;
    }
    if (status === 409 && code === 'CTL_LINK_USED') return false;
    throw this.#unavailable(`control answered ${status}${code ? ` ${code}` : ''}`);
  }

  close(): void {
    this.#agent.destroy().catch(() => {});
  }

  #unavailable(reason: string): AuthFailure {
    const now = performance.now();
    if (now - this.#warnedAt >= WARN_EVERY_MS) {
      this.#warnedAt = now;
      this.#log?.warn({ reason }, 'cannot claim one-time links at control; links are refused until it answers');
    }
    return new AuthFailure('GW_LINK_UNAVAILABLE', reason);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

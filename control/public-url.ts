import type { Logger } from 'pino';
import { DEFAULT_APP_HOSTS, type AppHosts } from './keys/gateway-tokens.ts';

/*
 * Control's public URL (DESIGN.md "Settings"): WHARF_PUBLIC_URL when set, which always wins;
 * else the gateway's bound HTTPS address as an in-process composer (`wharf up`) sets it; else
 * the one the first connecting gateway reports on its route stream request; until then the
 * default https://localhost:8443/. Links, gateway tokens, the sign-in redirects and the Origin
 * check read it at each use, so one object, passed wherever AppHosts is, is all that changes.
 */

export type PublicUrlSource = 'setting' | 'composer' | 'gateway' | 'default';

/** `raw` as a normalized https URL, or an Error saying why it is not one. */
export function checkPublicUrl(raw: unknown): string | Error {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return new Error('not a URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return new Error(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:') return new Error(`"${raw}" is not an https: URL`);
  if (url.username || url.password) return new Error(`"${raw}" carries credentials`);
  return url.href;
}

export class LiveAppHosts implements AppHosts {
  readonly appsDomain: string;
  #publicUrl: string;
  #source: PublicUrlSource;
  readonly #log: Logger | undefined;

  constructor(options: { appsDomain: string; publicUrl?: string; log?: Logger }) {
    this.appsDomain = options.appsDomain;
    this.#publicUrl = options.publicUrl ?? DEFAULT_APP_HOSTS.publicUrl;
    this.#source = options.publicUrl === undefined ? 'default' : 'setting';
    this.#log = options.log;
  }

  get publicUrl(): string {
    return this.#publicUrl;
  }

  /** Where the current public URL came from. */
  get source(): PublicUrlSource {
    return this.#source;
  }

  /**
   * Sets the public URL from an in-process composer that knows its gateway's bound address.
   * Throws for anything but an https URL; returns false (and keeps it) when WHARF_PUBLIC_URL is set.
   */
  set(publicUrl: string): boolean {
    const checked = checkPublicUrl(publicUrl);
    if (checked instanceof Error) throw new Error(`public URL: ${checked.message}`);
    if (this.#source === 'setting') return false;
    this.#adopt(checked, 'composer');
    return true;
  }

  /**
   * What a gateway reported: adopted when nothing else set the public URL yet (the first
   * gateway wins); anything but an https URL is ignored with a log line. True when adopted.
   */
  report(raw: unknown): boolean {
    if (this.#source !== 'default') return false;
    const checked = checkPublicUrl(raw);
    if (checked instanceof Error) {
      this.#log?.warn({ reported: typeof raw === 'string' ? raw.slice(0, 200) : typeof raw }, `public URL reported by a gateway ignored: ${checked.message}`);
      return false;
    }
    this.#adopt(checked, 'gateway');
    return true;
  }

  #adopt(publicUrl: string, source: PublicUrlSource): void {
    this.#publicUrl = publicUrl;
    this.#source = source;
    this.#log?.info({ publicUrl, source }, 'public URL set');
  }
}

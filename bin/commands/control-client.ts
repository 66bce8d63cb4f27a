import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertStore } from '../../certs/store.ts';
import { trustCa } from '../../certs/trust.ts';
import { ControlUrls, parseControlUrls } from '../../protocol/control-urls.ts';
import { wharfHome } from '../../protocol/home.ts';

/*
 * How CLI commands reach control (DESIGN.md "CLI"): WHARF_URL and WHARF_TOKEN, else
 * WHARF_HOME/run/control.json and WHARF_HOME/admin.token. WHARF_URL may list several
 * controls (comma-separated): a request goes to the next when one cannot be reached. Every
 * failure is a plain Error with one line that says what to fix; bin/wharf.ts prints it alone
 * and exits 1.
 */

export interface ControlTarget {
  /** The first of `urls`. */
  url: string;
  urls: string[];
  token: string;
}

export function findControl(env: NodeJS.ProcessEnv = process.env): ControlTarget {
  const home = wharfHome(env);
  let url = env.WHARF_URL;
  if (!url) {
    const runFile = join(home, 'run', 'control.json');
    try {
      url = (JSON.parse(readFileSync(runFile, 'utf8')) as { url: string }).url;
    } catch {
      throw new Error(`WHARF_URL is not set and ${runFile} cannot be read: start \`wharf control\` or set WHARF_URL`);
    }
  }
  let token = env.WHARF_TOKEN;
  if (!token) {
    const tokenFile = join(home, 'admin.token');
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch {
      throw new Error(`WHARF_TOKEN is not set and ${tokenFile} cannot be read: set WHARF_TOKEN to an API token`);
    }
  }
  // A control serving HTTPS from this home's local CA (--tls) is trusted, as the gateway trusts it.
  const ca = new CertStore(home).caPath;
  try {
    trustCa(readFileSync(ca, 'utf8'));
  } catch { /* no local CA here */ }
  let urls: string[];
  try {
    urls = parseControlUrls(url);
  } catch (err) {
    throw new Error(`WHARF_URL ${(err as Error).message}`);
  }
  return { url: urls[0], urls, token };
}

export class ControlClient {
  readonly target: ControlTarget;
  readonly #urls: ControlUrls;

  constructor(target: ControlTarget = findControl()) {
    this.target = target;
    this.#urls = new ControlUrls(target.urls);
  }

  /** The answer's JSON (undefined for 204); a non-2xx answer throws the API's one-line message. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.#request(method, path, body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A GET whose answer is not JSON (the CA certificate), as text. */
  text(path: string): Promise<string> {
    return this.#request('GET', path);
  }

  async #request(method: string, path: string, body?: unknown): Promise<string> {
    let res: Response;
    try {
      res = await this.#urls.use((url) => fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }));
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach control at ${this.target.urls.join(', ')} (${cause?.code ?? cause?.message ?? (err as Error).message}): is \`wharf control\` running? (WHARF_URL)`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = `control answered ${res.status}`;
      let errors: unknown;
      try {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string; errors?: unknown } }).error;
        if (e?.message) message = `${e.message} (${e.code})`;
        errors = e?.errors;
      } catch { /* not JSON: keep the status */ }
      // `errors`: each mistake of an invalid body ([{field, message}]), for a command to print one a line.
      throw Object.assign(new Error(message.replace(/\s*\n\s*/g, ' ')), Array.isArray(errors) ? { errors } : {});
    }
    return text;
  }
}

import type { IncomingMessage } from 'node:http';
import { withoutWharfCookies } from '../auth/credentials.ts';
import type { LiveHttpRoute } from '../routing/live-routes.ts';

/**
 * Request headers that never go upstream as the client sent them: hop-by-hop fields
 * (RFC 9110 §7.6.1), forwarding fields the gateway sets itself (a client must not choose its
 * own X-Forwarded-For), `expect` (answered by the gateway), and proxy credentials.
 */
const DROP_REQUEST = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'http2-settings', 'expect',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip',
]);

/** Response headers that are per hop; Node sets its own framing for the client. */
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate']);

/** Extra names a Connection header lists as hop-by-hop, beyond the usual keep-alive/close/upgrade. */
function connectionOptions(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const names = value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'keep-alive' && s !== 'close' && s !== 'upgrade');
  return names.length ? names : undefined;
}

export function clientAddress(req: IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

export interface ForwardOptions {
  /** The client's Authorization carried Wharf's token: do not pass it on. */
  dropAuthorization: boolean;
  /** For WebSocket handshakes, keep `Connection: upgrade` and `Upgrade`. */
  upgrade?: boolean;
  /** Under path routing, the `/app/<id>` prefix that was removed. */
  prefix?: string;
  /** Control's own route on the main host: `wharf_console` (and Authorization) are control's, pass them. */
  keepWharfCookies?: boolean;
}

/**
 * The upstream request's headers as a flat [name, value, …] list: the client's headers minus
 * what must not cross (above, Wharf's cookies, the route's own names), then X-Forwarded-*,
 * then the route's headers. `Host` is passed through unchanged.
 */
export function upstreamRequestHeaders(req: IncomingMessage, live: LiveHttpRoute, options: ForwardOptions): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  const listed = connectionOptions(req.headers.connection);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (DROP_REQUEST.has(lower) || live.headerNames.has(lower)) continue;
    if (lower === 'authorization' && options.dropAuthorization) continue;
    if (lower === 'cookie' && !options.keepWharfCookies) {
      const kept = withoutWharfCookies(raw[i + 1]);
      if (kept !== undefined) out.push(name, kept);
      continue;
    }
    if (listed !== undefined && listed.includes(lower)) continue;
    out.push(name, raw[i + 1]);
  }
  if (options.upgrade) out.push('connection', 'upgrade', 'upgrade', req.headers.upgrade!);
  out.push('x-forwarded-for', clientAddress(req), 'x-forwarded-proto', 'https', 'x-forwarded-host', req.headers.host ?? '');
  if (options.prefix) out.push('x-forwarded-prefix', options.prefix);
  for (let i = 0; i < live.headerList.length; i++) out.push(live.headerList[i]);
  return out;
}

/** The upstream's response headers for the client, as a flat [name, value, …] string list. */
export function clientResponseHeaders(raw: Buffer[] | string[]): string[] {
  const out: string[] = [];
  let listed: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') listed = connectionOptions(raw[i + 1].toString('latin1'));
    if (DROP_RESPONSE.has(lower)) continue;
    out.push(name, raw[i + 1].toString('latin1'));
  }
  if (listed === undefined) return out;
  return out.filter((_, i, all) => !listed!.includes(all[i - (i % 2)].toLowerCase()));
}

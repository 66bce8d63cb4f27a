import type { ServerResponse } from 'node:http';

interface ErrorSpec {
  status: number;
  title: string;
  /** What the person seeing the page can do about it. */
  hint: string;
}

/**
 * Every error the gateway answers with. The code goes out as `X-Wharf-Error`; tests assert
 * the code, never the wording.
 */
export const gatewayErrors = {
  GW_ROUTE_NOT_FOUND: { status: 404, title: 'No app here', hint: 'No app is served at this address. Check the link, or launch the app again from the dashboard.' },
  GW_ROUTE_STARTING: { status: 503, title: 'Setting up', hint: 'This app is still starting. The page reloads by itself in a few seconds.' },
  GW_UPSTREAM_REFUSED: { status: 502, title: 'App not reachable', hint: 'The app is not accepting connections. It may have stopped or still be starting; try again shortly.' },
  GW_UPSTREAM_RESET: { status: 502, title: 'App closed the connection', hint: 'The app closed the connection before it finished answering. Check its console for a crash.' },
  GW_UPSTREAM_TIMEOUT: { status: 504, title: 'App too slow', hint: 'The app did not answer in time. Check its console, or try again.' },
  GW_UPSTREAM_ERROR: { status: 502, title: 'Bad answer from the app', hint: 'The app sent a response the gateway could not forward. Check its console.' },
  GW_AUTH_REQUIRED: { status: 401, title: 'Sign in needed', hint: 'Open this app from a link in the dashboard, or send Authorization: Bearer <token>.' },
  GW_AUTH_INVALID: { status: 401, title: 'Token not accepted', hint: 'The token is malformed, not signed by this Wharf, or not meant for the gateway. Get a new one with `wharf token ID`.' },
  GW_AUTH_EXPIRED: { status: 401, title: 'Token expired', hint: 'The token has expired. Open the app again from the dashboard, or get a new one with `wharf token ID`.' },
  GW_LINK_USED: { status: 401, title: 'Link already used', hint: 'One-time links work once. Open the app again from the dashboard for a fresh link.' },
  GW_AUTH_UNAVAILABLE: { status: 503, title: 'Cannot check tokens', hint: 'The gateway cannot reach the keys that tokens are checked against. Try again shortly.' },
  GW_LINK_UNAVAILABLE: { status: 503, title: 'Cannot check the link', hint: 'The gateway cannot reach Wharf\'s control to make sure this one-time link is used only once, so it accepts no links for now. Try again in a minute, or open the app again from the dashboard.' },
  GW_FORBIDDEN: { status: 403, title: 'Not your app', hint: 'Your token does not give access to this app. Ask its owner, or use a token for this instance.' },
  GW_CROSS_SITE: { status: 403, title: 'Request from another page refused', hint: 'Only this app\'s own pages may send this request with your sign-in; another site or app tried to. If you followed a link, open the app again from the dashboard.' },
  GW_BAD_REQUEST: { status: 400, title: 'Bad request', hint: 'The request was malformed and was not passed on.' },
  GW_UPGRADE_UNSUPPORTED: { status: 400, title: 'Upgrade not supported', hint: 'Only WebSocket upgrades are passed on.' },
  GW_MISDIRECTED: { status: 421, title: 'Wrong connection', hint: 'This address is served on a connection of its own (RFC 9110 §15.5.20): the browser retries by itself on a new one. If you see this page, reload it.' },
  GW_HEADERS_TOO_LARGE: { status: 431, title: 'Headers too large', hint: 'The request headers are too large or too many. Clear this site\'s cookies and try again.' },
  GW_REQUEST_TIMEOUT: { status: 408, title: 'Request too slow', hint: 'The request was not sent in time.' },
  GW_INTERNAL: { status: 500, title: 'Gateway error', hint: 'The gateway hit an unexpected error; it has been logged.' },
} satisfies Record<string, ErrorSpec>;

export type GatewayErrorCode = keyof typeof gatewayErrors;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * How long a client should wait before asking a starting app again (Retry-After, RFC 9110
 * §10.2.3), and how often the "setting up" page reloads itself: apps start in seconds.
 */
export const RETRY_AFTER_S = 2;

function page(code: GatewayErrorCode): string {
  const e = gatewayErrors[code];
  // A browser keeps reloading the same (clean) address until the app answers in its place.
  const refresh = code === 'GW_ROUTE_STARTING' ? `<meta http-equiv="refresh" content="${RETRY_AFTER_S}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">${refresh}` +
    `<title>${e.status} ${escapeHtml(e.title)} · Wharf</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#1b1f24;background:#fff}` +
    `@media (prefers-color-scheme:dark){body{color:#e6e6e6;background:#16181c}}code{font-size:.85em;opacity:.7}</style></head>` +
    `<body><h1>${escapeHtml(e.title)}</h1><p>${escapeHtml(e.hint)}</p><p><code>${e.status} · ${code}</code></p></body></html>\n`;
}

// Bodies are built once: an error answer costs no templating on the request path.
const bodies = Object.fromEntries(
  (Object.keys(gatewayErrors) as GatewayErrorCode[]).map((code) => {
    const e = gatewayErrors[code];
    return [code, {
      html: Buffer.from(page(code)),
      json: Buffer.from(JSON.stringify({ error: { code, status: e.status, message: `${e.title}: ${e.hint}` } }) + '\n'),
    }];
  }),
) as Record<GatewayErrorCode, { html: Buffer; json: Buffer }>;

export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && !accept.includes('text/html');
}

/** Answers a request with the readable page (or JSON) for `code`. */
export function sendError(res: ServerResponse, code: GatewayErrorCode, accept: string | undefined): void {
  const json = wantsJson(accept);
  const body = json ? bodies[code].json : bodies[code].html;
  const headers: Record<string, string | number> = {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-wharf-error': code,
  };
  if (code === 'GW_ROUTE_STARTING') headers['retry-after'] = RETRY_AFTER_S;
  res.writeHead(gatewayErrors[code].status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * The same answer as raw bytes, for sockets that have no ServerResponse: parse errors,
 * refused upgrades. It always closes the connection.
 */
export function rawErrorResponse(code: GatewayErrorCode, accept?: string): Buffer {
  const e = gatewayErrors[code];
  const json = wantsJson(accept);
  const body = json ? bodies[code].json : bodies[code].html;
  const retry = code === 'GW_ROUTE_STARTING' ? `Retry-After: ${RETRY_AFTER_S}\r\n` : '';
  const head = `HTTP/1.1 ${e.status} ${e.title}\r\nContent-Type: ${json ? 'application/json' : 'text/html'}; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\nCache-Control: no-store\r\nX-Wharf-Error: ${code}\r\n${retry}Connection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

import type { IncomingMessage } from 'node:http';

/*
 * Forged-request protection for cookie-authenticated requests (docs/security.md).
 *
 * Every app lives under one apps domain, so all apps are the *same site*: a SameSite=Lax
 * cookie of alice's app host rides along on a POST or a WebSocket handshake that bob's app
 * page makes the browser send. And since the gateway adds the app's own token upstream
 * (Jupyter's), the app believes every request is token-authenticated and skips its own XSRF
 * and Origin checks. So the gateway, having taken over the app's authentication, takes over
 * its protection against forged requests too: a request that rides on the cookie is served
 * only when the app's own pages sent it, or when it is a top-level navigation (a link the
 * person followed), never when another page made the browser send it.
 */

/** Methods that cannot change state (RFC 9110 §9.2.1); anything else is refused from elsewhere. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether the browser sent this request on behalf of another origin than `https://<Host>`:
 * - with Fetch Metadata (every current browser): `same-site` or `cross-site` is refused for
 *   an unsafe method, a WebSocket handshake, and anything but a top-level navigation
 *   (`Sec-Fetch-Mode: navigate` with `Sec-Fetch-Dest: document`; an iframe is a navigation
 *   with `Dest: iframe`, so one app can't frame another either);
 * - without it (older clients): an `Origin` that is present and not the request's own.
 * Programs send neither header, so Bearer-token and command-line clients are unaffected.
 */
/** A browser's top-level navigation: `Sec-Fetch-Mode: navigate` with `Sec-Fetch-Dest: document`. */
function isTopLevelNavigation(h: IncomingMessage['headers']): boolean {
  return h['sec-fetch-mode'] === 'navigate' && h['sec-fetch-dest'] === 'document';
}

/**
 * Whether a request without a valid session may be sent to sign in (a redirect) rather than
 * answered 401 with a JSON body: only a browser's top-level navigation, by Fetch Metadata, or
 * from a client that sends none, one that asks for HTML. A page's fetch, XHR, event stream,
 * WebSocket or iframe gets the 401 it can act on, never a login page in place of its data
 * (kubeflow community-distribution #2904).
 */
export function mayRedirectToSignIn(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['sec-fetch-mode'] !== undefined || h['sec-fetch-dest'] !== undefined) return isTopLevelNavigation(h);
  return h.accept?.includes('text/html') ?? false;
}

export function isForeignRequest(req: IncomingMessage, upgrade: boolean): boolean {
  const h = req.headers;
  const site = h['sec-fetch-site'];
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return false;
    if (upgrade || !SAFE_METHODS.has(req.method!)) return true;
    return !isTopLevelNavigation(h);
  }
  const origin = h.origin;
  if (origin === undefined) return false;
  // Origin serializes scheme://host[:port] with the default port left out, as Host does.
  return origin.toLowerCase() !== `https://${(h.host ?? '').toLowerCase()}`;
}

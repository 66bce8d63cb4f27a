/*
 * How control tells a browser's own address from its gateway's (issue 15, sign-in throttling).
 *
 * A gateway fed by control proxies the main host to control, so control sees every browser
 * coming from the gateway's address; the gateway says who the client was in X-Forwarded-For
 * (gateway/proxy/forwarded-headers.ts, which drops whatever the client sent in its place).
 * Control must believe that header only from a gateway, never from a client that reaches
 * control directly and writes it itself. So the gateway adds GATEWAY_KEY_HEADER, carrying its
 * own gateway key (WHARF_GATEWAY_KEY), to every request it forwards to control, and control
 * trusts X-Forwarded-For only when the key checks (the gateway's own request, or a client
 * of the gateway sending a header of that name, which the gateway drops as it drops a
 * route's header names).
 *
 * The key itself rather than an HMAC with it: control keeps only a hash of each key (it
 * could not check an HMAC), control is the only receiver of these requests, and the gateway
 * already presents the same key to the same control on the route stream and link claims.
 * It works the same for `wharf up` (loopback, one process) and a gateway of its own, with no
 * list of proxy addresses to keep in step.
 */
export const GATEWAY_KEY_HEADER = 'x-wharf-gateway-key';

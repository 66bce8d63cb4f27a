import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AppHosts } from '../keys/gateway-tokens.ts';

/*
 * Strict-Transport-Security on control's main host (RFC 6797; issue 14, docs/tls.md). Users
 * reach control through the gateway's HTTPS main host, which passes Host through: a response to
 * a request for the public URL's host carries the header, whatever its status. Never sent:
 * - for localhost and *.localhost (RFC 6761 §6.3): HSTS ignores ports (RFC 6797 §8.3), so a
 *   browser would then force HTTPS on every HTTP server the machine runs;
 * - for an IP address: browsers ignore it there (RFC 6797 §8.1.1), loopback or not;
 * - to requests for control's own address (the CLI, agents, gateways): not the main host.
 * `includeSubDomains` only with --hsts-include-subdomains (WHARF_HSTS_INCLUDE_SUBDOMAINS): it
 * binds every name under the main host, whoever serves it, for max-age.
 * The public URL is read per request: it may be set after start (LiveAppHosts).
 */

/** Two years (Mozilla's server-side TLS guidelines, "intermediate"). */
export const HSTS_MAX_AGE_S = 63_072_000;

/** "wharf.example.com." → "wharf.example.com"; "[::1]" → "::1". */
const bare = (hostname: string) => hostname.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');

/** Whether a host name may be given HSTS: not localhost, *.localhost or an IP address. */
export function hstsApplies(hostname: string): boolean {
  const name = bare(hostname);
  return name !== '' && isIP(name) === 0 && name !== 'localhost' && !name.endsWith('.localhost');
}

/** The header's value for a public URL, or undefined when its host must not get one. */
export function hstsValue(publicUrl: string, includeSubDomains: boolean): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(publicUrl).hostname;
  } catch {
    return undefined;
  }
  if (!hstsApplies(hostname)) return undefined;
  return `max-age=${HSTS_MAX_AGE_S}${includeSubDomains ? '; includeSubDomains' : ''}`;
}

/** The host name of a Host header ("name:port", "[v6]:port"), or undefined. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return bare(new URL(`http://${header}`).hostname);
  } catch {
    return undefined;
  }
}

/** Adds Strict-Transport-Security to every response for the main host (when it may have one). */
export function hstsHeader(app: FastifyInstance, options: { hosts: AppHosts; includeSubDomains: boolean }): void {
  let cached: { publicUrl: string; host: string | undefined; value: string | undefined } | undefined;
  app.addHook('onSend', async (request, reply, payload) => {
    const publicUrl = options.hosts.publicUrl;
    if (cached?.publicUrl !== publicUrl) {
      const value = hstsValue(publicUrl, options.includeSubDomains);
      cached = { publicUrl, value, host: value === undefined ? undefined : bare(new URL(publicUrl).hostname) };
    }
    if (cached.value !== undefined && hostOf(request.headers.host) === cached.host) reply.header('strict-transport-security', cached.value);
    return payload;
  });
}

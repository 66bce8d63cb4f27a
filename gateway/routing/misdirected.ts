import { isIP } from 'node:net';
import type { Route } from '../../protocol/route.ts';

/*
 * HTTP/2 lets a browser send requests for several hosts on one connection, whenever the
 * connection's certificate covers them (RFC 9113 §9.1.1, "connection reuse"). A request for a
 * host this connection cannot serve is answered 421 Misdirected Request (RFC 9110 §15.5.20),
 * and the browser retries it on a new connection of its own: for a host the certificate
 * does not cover, and for a route reached by TLS server name (a TCP route the SNI router
 * carries, whose bytes never reach HTTP routing on a reused connection).
 */

/** Whether a route is chosen by the TLS server name of the connection, before any HTTP. */
export function boundToServerName(route: Route): boolean {
  return route.kind === 'tcp' && (route.tls !== 'none' || route.clientCert);
}

/** IPv4 as is, IPv6 in its shortest form, so that `::1` and `0:0:0:0:0:0:0:1` compare equal. */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** The names a served certificate is valid for (its subjectAltName, RFC 6125). */
export class CertificateNames {
  readonly #exact = new Set<string>();
  readonly #wildcard = new Set<string>(); // the part after "*."
  readonly #ips = new Set<string>();

  /** @param subjectAltName as Node prints it: `DNS:a.example, DNS:*.b.example, IP Address:127.0.0.1` */
  constructor(subjectAltName: string | undefined) {
    for (const entry of (subjectAltName ?? '').split(', ')) {
      if (entry.startsWith('DNS:')) {
        const name = entry.slice(4).toLowerCase();
        if (name.startsWith('*.')) this.#wildcard.add(name.slice(2));
        else this.#exact.add(name);
      } else if (entry.startsWith('IP Address:')) {
        this.#ips.add(canonicalIp(entry.slice(11)));
      }
    }
  }

  /**
   * Whether `hostname` (lower-case, without port; IPv6 in brackets) is covered. A wildcard
   * stands for exactly one label (RFC 6125 §6.4.3): `*.apps.example` covers `a.apps.example`,
   * neither `apps.example` nor `a.b.apps.example`.
   */
  covers(hostname: string): boolean {
    if (hostname.charCodeAt(0) === 91 /* [ */) return this.#ips.has(canonicalIp(hostname.slice(1, -1)));
    if (isIP(hostname)) return this.#ips.has(hostname);
    if (this.#exact.has(hostname)) return true;
    const dot = hostname.indexOf('.');
    return dot > 0 && this.#wildcard.has(hostname.slice(dot + 1));
  }
}

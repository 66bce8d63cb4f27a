import type { SecureContextOptions } from 'node:tls';

/*
 * The one TLS profile of every secure context the gateway makes: the HTTPS entrypoint, the
 * per-name contexts its SNI callback picks (tls-material.ts), and the TCP routes whose TLS the
 * SNI router terminates (issue 14 "TLS as a current profile"). Mozilla's "intermediate"
 * server profile (ssl-config.mozilla.org, guidelines 5.7) without its DHE suites: TLS 1.3, and
 * TLS 1.2 with ECDHE key exchange (forward secrecy) and AEAD ciphers only. So no static-RSA
 * key exchange, no CBC (LUCKY13), no ARIA, no CCM. docs/tls.md lists it;
 * test/e2e/tls-profile.test.ts holds a running gateway to it with testssl.
 */

/** TLS 1.3 suites, in Mozilla's order (OpenSSL names; Node sets them with SSL_CTX_set_ciphersuites). */
export const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

/** TLS 1.2 suites: ECDHE + AEAD, in Mozilla's order (ECDSA entries serve an ECDSA certificate). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

/** Spread into every server-side `createSecureContext` / `https.createServer` options object. */
export const TLS_PROFILE = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
  // The server's order, not the client's: a client that lists a weaker suite first still
  // gets the first one of ours it supports.
  honorCipherOrder: true,
  ecdhCurve: 'X25519:prime256v1:secp384r1',
} satisfies SecureContextOptions);

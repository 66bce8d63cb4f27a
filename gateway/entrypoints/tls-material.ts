import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { TLS_PROFILE } from './tls-profile.ts';

export interface CertFiles {
  cert: string;
  key: string;
}

/** Certificates the HTTPS entrypoint serves, chosen by SNI; the first is the default. */
export interface TlsMaterial {
  default: { cert: Buffer; key: Buffer };
  /** The context for a server name, or undefined for the default one. */
  select(servername: string): SecureContext | undefined;
  /** The certificate and key served for a name (the default pair when none matches). */
  pairFor(servername: string): { cert: Buffer; key: Buffer };
}

/** Loads cert/key pairs and indexes them by the DNS names in their subjectAltName. */
export function loadTlsMaterial(files: CertFiles[]): TlsMaterial {
  if (files.length === 0) throw new Error('no certificate to serve');
  type Entry = { context: SecureContext; pair: { cert: Buffer; key: Buffer } };
  const exact = new Map<string, Entry>();
  const wildcard = new Map<string, Entry>(); // key: the part after "*."
  let first: { cert: Buffer; key: Buffer } | undefined;
  for (const f of files) {
    const cert = readFileSync(f.cert);
    const key = readFileSync(f.key);
    // The SNI callback's context: it carries the profile too (tls-profile.ts).
    const context = createSecureContext({ ...TLS_PROFILE, cert, key }); // throws when key and cert do not match
    first ??= { cert, key };
    const names = (new X509Certificate(cert).subjectAltName ?? '')
      .split(', ')
      .filter((n) => n.startsWith('DNS:'))
      .map((n) => n.slice(4).toLowerCase());
    for (const name of names) {
      const map = name.startsWith('*.') ? wildcard : exact;
      const keyName = name.startsWith('*.') ? name.slice(2) : name;
      if (!map.has(keyName)) map.set(keyName, { context, pair: { cert, key } });
    }
  }
  const find = (servername: string): Entry | undefined => {
    const name = servername.toLowerCase();
    const hit = exact.get(name);
    if (hit) return hit;
    const dot = name.indexOf('.');
    return dot < 0 ? undefined : wildcard.get(name.slice(dot + 1));
  };
  return {
    default: first!,
    select: (servername) => find(servername)?.context,
    pairFor: (servername) => find(servername)?.pair ?? first!,
  };
}

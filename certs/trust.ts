import { getCACertificates, setDefaultCACertificates } from 'node:tls';

/**
 * Adds a CA to those this process trusts for every outgoing TLS connection (fetch included), as
 * NODE_EXTRA_CA_CERTS would at start: for the CLI and `wharf up`, which reach a control serving
 * HTTPS from the local CA of their own WHARF_HOME.
 */
export function trustCa(pem: string): void {
  const current = getCACertificates('default');
  if (!current.includes(pem)) setDefaultCACertificates([...current, pem]);
}

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { CertStore } from '../certs/store.ts';
import { issueCertificate, type KeyPair } from '../certs/authority.ts';
import { UsageError } from '../protocol/settings.ts';

/*
 * Control's own TLS (issue 17): gateways fetch keys and, later, certificates from control, and
 * agents and the CLI send tokens to it, so nothing of that may cross a network in clear.
 * - --tls-cert/--tls-key: served as given;
 * - else `--tls auto` (the default) serves HTTPS from the local CA (WHARF_HOME/certs) as soon as
 *   control listens beyond loopback, and plain HTTP on loopback, where nothing crosses a network;
 * - `--tls on` always serves HTTPS; `--tls off` never does: only for a listener that a private
 *   network alone can reach (a container's port published on the host's loopback), and said so
 *   in a warning at start.
 * Clients trust the local CA as Node trusts anything: NODE_EXTRA_CA_CERTS=WHARF_HOME/certs/ca.pem.
 */

export type TlsMode = 'auto' | 'on' | 'off';

export function parseTlsMode(raw: string): TlsMode {
  if (raw === 'auto' || raw === 'on' || raw === 'off') return raw;
  throw new Error(`must be auto (HTTPS beyond loopback), on or off, got "${raw}"`);
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`: addresses no other machine reaches. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

export interface ControlTlsSettings {
  tls: TlsMode;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  listen: { host: string; port: number };
  home: string;
}

export interface ControlTls extends KeyPair {
  /** Where the certificate came from, for the start line. */
  source: 'files' | 'local CA';
  /** The local CA's certificate file, when it issued the certificate. */
  caFile?: string;
}

/** What control serves its API with: TLS, or undefined for plain HTTP. Throws a UsageError naming the flag. */
export function controlTls(s: ControlTlsSettings): ControlTls | undefined {
  if ((s.tlsCert === undefined) !== (s.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key (WHARF_CONTROL_TLS_CERT, WHARF_CONTROL_TLS_KEY) go together: give both or neither');
  }
  if (s.tlsCert !== undefined && s.tlsKey !== undefined) {
    if (s.tls === 'off') throw new UsageError('--tls off contradicts --tls-cert/--tls-key: drop one of them');
    const pair = { cert: readPem(s.tlsCert, '--tls-cert'), key: readPem(s.tlsKey, '--tls-key') };
    try {
      createSecureContext(pair); // what the listener will do: a bad file fails here, named
    } catch (err) {
      throw new UsageError(`--tls-cert ${s.tlsCert} with --tls-key ${s.tlsKey}: ${(err as Error).message}; give a PEM certificate and its own private key`);
    }
    return { ...pair, source: 'files' };
  }
  if (s.tls === 'off' || (s.tls === 'auto' && isLoopback(s.listen.host))) return undefined;
  const certs = new CertStore(s.home);
  return { ...localCertificate(certs, controlNames(s.listen.host)), source: 'local CA', caFile: certs.caPath };
}

/** The names control's local-CA certificate carries: loopback, this machine, and a specific listen address. */
export function controlNames(listenHost: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname()];
  const bare = listenHost.replace(/^\[(.*)\]$/, '$1');
  if (bare !== '0.0.0.0' && bare !== '::') names.push(bare);
  return [...new Set(names)];
}

/** certs/control.pem, issued by the local CA; issued again when it lacks one of `names` (the listen address changed). */
function localCertificate(certs: CertStore, names: string[]): KeyPair {
  if (certs.has('control')) {
    const pair = certs.read('control');
    const x509 = new X509Certificate(pair.cert);
    const covers = names.every((n) => (isIP(n) ? x509.checkIP(n) : x509.checkHost(n)) !== undefined);
    if (covers && new Date(x509.validTo).getTime() > Date.now() + 30 * 86_400_000) return pair;
  }
  const pair = issueCertificate(certs.authority(), { names });
  certs.write('control', pair);
  return pair;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import tls from 'node:tls';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it. */
export const CHROMIUM = '/usr/bin/chromium';

export interface LaunchOptions {
  /**
   * Base64 SHA-256 hashes of the SubjectPublicKeyInfo of the certificates Chromium may accept
   * although it does not know their CA (see `gatewaySpki`). Any other certificate still fails.
   */
  trustSpki?: string[];
}

/**
 * Headless Chromium driven by playwright-core. Throws (never skips) when Chromium is missing.
 *
 * Each browser gets a fresh profile: playwright makes a temporary --user-data-dir for every
 * `launch` and removes it on `close()` (it refuses a --user-data-dir of ours in `args`).
 *
 * Certificates: Chromium does not know the stack's CA. Rather than `ignoreHTTPSErrors: true`
 * (which accepts any certificate at all), contexts keep `ignoreHTTPSErrors: false` and the
 * browser is told the one public key it may accept (--ignore-certificate-errors-spki-list),
 * which `gatewaySpki` takes from the certificate the gateway really serves after Node has
 * verified it against the CA and the host name. Chromium still does the real TLS handshake;
 * a gateway serving any other key fails with a certificate error.
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run .ci/run or apt-get install chromium`);
  }
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
  if (options.trustSpki?.length) args.push(`--ignore-certificate-errors-spki-list=${options.trustSpki.join(',')}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args, timeout: 20_000 });
}

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's SPKI list names. */
export function spkiHash(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * The SPKI hash of the certificate the gateway on 127.0.0.1:`port` serves for `host`, after
 * checking that it chains to `ca` and names `host` (the handshake fails otherwise).
 */
export function gatewaySpki(port: number, ca: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: host, ca, rejectUnauthorized: true }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (!cert) return reject(new Error(`the gateway on port ${port} sent no certificate`));
      resolve(spkiHash(cert.toString()));
    });
    socket.on('error', reject);
  });
}

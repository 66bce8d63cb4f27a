import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthority, issueCertificate, type KeyPair } from './authority.ts';

/** The names every gateway certificate carries, so `npm start` works in a browser at once. */
export function defaultGatewayNames(appsDomain: string): string[] {
  return ['localhost', `*.${appsDomain}`, appsDomain, '127.0.0.1', '::1'];
}

/** File names under WHARF_HOME/certs: `<name>.pem` and `<name>-key.pem` (0600). */
export class CertStore {
  readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, 'certs');
  }

  paths(name: string): { cert: string; key: string } {
    return { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}-key.pem`) };
  }

  get caPath(): string {
    return this.paths('ca').cert;
  }

  has(name: string): boolean {
    const p = this.paths(name);
    return existsSync(p.cert) && existsSync(p.key);
  }

  read(name: string): KeyPair {
    const p = this.paths(name);
    return { cert: readFileSync(p.cert, 'utf8'), key: readFileSync(p.key, 'utf8') };
  }

  write(name: string, pair: KeyPair): { cert: string; key: string } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const p = this.paths(name);
    writeFileSync(p.key, pair.key, { mode: 0o600 });
    writeFileSync(p.cert, pair.cert, { mode: 0o644 });
    return p;
  }

  /** The CA, created on first use. */
  authority(): KeyPair {
    if (!this.has('ca')) this.write('ca', createAuthority());
    return this.read('ca');
  }

  /** The gateway's certificate, issued by the CA on first use. */
  gateway(appsDomain: string, extraNames: string[] = []): { cert: string; key: string } {
    if (!this.has('gateway')) {
      const names = [...new Set([...defaultGatewayNames(appsDomain), ...extraNames])];
      this.write('gateway', issueCertificate(this.authority(), { names }));
    }
    return this.paths('gateway');
  }
}

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const WHARF = new URL('../../bin/wharf.ts', import.meta.url).pathname;

export interface TlsFiles {
  /** The WHARF_HOME the certificates live in; the gateway runs with it too. */
  home: string;
  cert: string;
  key: string;
  ca: string;
  caPem: string;
}

/**
 * One certificate for every HTTPS peer: the gateway's own (made by `wharf certs init`), so
 * that the TLS work (key type, size, cipher) is the same for the gateway, the bare Node
 * server, configurable-http-proxy and nginx.
 */
export function makeTlsFiles(home: string): TlsFiles {
  const r = spawnSync(process.execPath, [WHARF, 'certs', 'init'], { env: { ...process.env, WHARF_HOME: home }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wharf certs init failed (${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  const dir = join(home, 'certs');
  const ca = join(dir, 'ca.pem');
  return { home, cert: join(dir, 'gateway.pem'), key: join(dir, 'gateway-key.pem'), ca, caPem: readFileSync(ca, 'utf8') };
}

import { randomBytes } from 'node:crypto';
import { startChild } from '../support/children.ts';
import { freePort } from '../support/net.ts';
import { whenServingHttps, type HttpsPeer } from './https-peer.ts';
import { CHP_BIN } from '../support/tools.ts';
import type { TlsFiles } from './tls-files.ts';

export type Chp = HttpsPeer;

/**
 * configurable-http-proxy (JupyterHub's proxy) as shipped: HTTPS on the same certificate,
 * everything to one default target, its own defaults otherwise.
 */
export async function startChp(tls: TlsFiles, target: string): Promise<Chp> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const child = startChild('configurable-http-proxy', process.execPath, [
    CHP_BIN,
    '--ip', '127.0.0.1', '--port', String(port),
    '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
    '--default-target', target,
    '--ssl-key', tls.key, '--ssl-cert', tls.cert,
    '--log-level', 'warn',
  ], { ...process.env, CONFIGPROXY_AUTH_TOKEN: randomBytes(16).toString('hex') });
  return whenServingHttps(child, port, tls);
}

import { randomBytes } from 'node:crypto';
import { APP_HOST } from '../bodies.ts';
import { startChild } from '../support/children.ts';
import { freePort, waitUntilServing } from '../support/net.ts';
import { CHP_BIN } from '../support/tools.ts';
import type { TlsFiles } from './tls-files.ts';

export interface Chp {
  port: number;
  /** Its one Node process. */
  pid: number;
  stop(): Promise<void>;
}

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
  try {
    await waitUntilServing(child, { url: `https://127.0.0.1:${port}/`, host: APP_HOST, ca: tls.caPem });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { port, pid: child.process.pid!, stop: () => child.stop() };
}

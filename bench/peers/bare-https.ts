import { startChild } from '../support/children.ts';
import { freePort } from '../support/net.ts';
import { whenServingHttps, type HttpsPeer } from './https-peer.ts';
import type { TlsFiles } from './tls-files.ts';

const SERVER = new URL('./bare-https-server.ts', import.meta.url).pathname;

export type BareHttps = HttpsPeer;

export async function startBareHttps(tls: TlsFiles): Promise<BareHttps> {
  const port = await freePort();
  const child = startChild('bare Node HTTPS server', process.execPath, [SERVER, String(port), tls.cert, tls.key]);
  return whenServingHttps(child, port, tls);
}

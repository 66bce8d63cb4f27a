import { APP_HOST } from '../bodies.ts';
import { startChild } from '../support/children.ts';
import { freePort, waitUntilServing } from '../support/net.ts';
import type { TlsFiles } from './tls-files.ts';

const SERVER = new URL('./bare-https-server.ts', import.meta.url).pathname;

export interface BareHttps {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startBareHttps(tls: TlsFiles): Promise<BareHttps> {
  const port = await freePort();
  const child = startChild('bare Node HTTPS server', process.execPath, [SERVER, String(port), tls.cert, tls.key]);
  try {
    await waitUntilServing(child, { url: `https://127.0.0.1:${port}/`, host: APP_HOST, ca: tls.caPem });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { port, pid: child.process.pid!, stop: () => child.stop() };
}

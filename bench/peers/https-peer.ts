import { APP_HOST } from '../bodies.ts';
import type { Child } from '../support/children.ts';
import { waitUntilServing } from '../support/net.ts';
import type { TlsFiles } from './tls-files.ts';

/** A peer serving HTTPS on the bench's certificate: the bare Node server, configurable-http-proxy, Caddy. */
export interface HttpsPeer {
  port: number;
  /** Its one process, whose CPU time is the peer's. */
  pid: number;
  stop(): Promise<void>;
}

/** The peer once it answers on https://127.0.0.1:port/ for the app host; stopped if it never does. */
export async function whenServingHttps(child: Child, port: number, tls: TlsFiles): Promise<HttpsPeer> {
  try {
    await waitUntilServing(child, { url: `https://127.0.0.1:${port}/`, host: APP_HOST, ca: tls.caPem });
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { port, pid: child.process.pid!, stop: () => child.stop() };
}

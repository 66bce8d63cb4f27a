import { freePort } from '../support/net.ts';
import { startNginx } from './nginx.ts';

export interface TcpProxy {
  /** The proxy's listening port for each named upstream port. */
  ports: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * nginx as a plain TCP proxy (the stream module, from Debian's libnginx-mod-stream): one
 * `server { listen; proxy_pass; }` per upstream, nginx's defaults otherwise (16k buffer,
 * TCP_NODELAY on, half-close off), one worker like every other peer.
 */
export async function startNginxStream(dir: string, upstreams: Record<string, number>): Promise<TcpProxy> {
  const ports: Record<string, number> = {};
  for (const name of Object.keys(upstreams)) ports[name] = await freePort();
  const servers = Object.entries(upstreams).map(([name, up]) =>
    `  server { listen 127.0.0.1:${ports[name]} backlog=4096; proxy_pass 127.0.0.1:${up}; }`);
  const first = Object.values(ports)[0];
  const nginx = await startNginx('nginx stream proxy', dir, { stream: servers.join('\n') }, { port: first });
  return { ports, stop: nginx.stop };
}

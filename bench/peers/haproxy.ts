import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from '../support/children.ts';
import { freePort, waitUntilListening } from '../support/net.ts';
import type { TcpProxy } from './nginx-stream.ts';

/**
 * HAProxy in `mode tcp`, from a private config (never /etc/haproxy), in the foreground (-db),
 * one thread like the other peers' one process or worker: a frontend and a backend per
 * upstream, its defaults otherwise (no splicing).
 */
export async function startHaproxy(dir: string, upstreams: Record<string, number>): Promise<TcpProxy> {
  const ports: Record<string, number> = {};
  for (const name of Object.keys(upstreams)) ports[name] = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  const sections = Object.entries(upstreams).map(([name, up]) => `
frontend ${name}
  bind 127.0.0.1:${ports[name]}
  default_backend ${name}
backend ${name}
  server ${name}1 127.0.0.1:${up}`);
  writeFileSync(conf, `# written by bench/peers/haproxy.ts
global
  nbthread 1
  # Explicit: HAProxy otherwise sizes it from the fd limit and refuses to start when it
  # cannot raise that limit further.
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
${sections.join('\n')}
`);
  const child = startChild('haproxy', 'haproxy', ['-f', conf, '-db']);
  try {
    for (const port of Object.values(ports)) await waitUntilListening(child, port);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { ports, stop: () => child.stop() };
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BODIES } from '../bodies.ts';
import { freePort } from '../support/net.ts';
import { startNginx } from './nginx.ts';

export interface Upstream {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * The one app every HTTP case reaches: nginx answering the small body from memory and the
 * large one from a static file, fast enough (~100k req/s) that it is never the bottleneck.
 */
export async function startUpstreamNginx(dir: string): Promise<Upstream> {
  const port = await freePort();
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  // Random bytes: nothing on the way can compress them into a cheaper transfer.
  writeFileSync(join(www, BODIES.large.path.slice(1)), randomBytes(BODIES.large.bytes));
  const small = 'x'.repeat(BODIES.small.bytes);
  const nginx = await startNginx('upstream nginx', dir, { http: `
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = ${BODIES.small.path} { default_type text/plain; return 200 "${small}"; }
    location = ${BODIES.large.path} { default_type application/octet-stream; root ${www}; }
  }` }, { url: `http://127.0.0.1:${port}${BODIES.small.path}` });
  return { port, url: `http://127.0.0.1:${port}`, stop: nginx.stop };
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, type Child } from '../support/children.ts';
import { waitUntilListening, waitUntilServing, type Probe } from '../support/net.ts';
import { STREAM_MODULE } from '../support/tools.ts';

export interface NginxBlocks {
  /** The body of the http block (omitted: no http block). */
  http?: string;
  /** The body of a stream block; loads the stream module (not built into nginx-light). */
  stream?: string;
}

export interface Nginx {
  child: Child;
  stop(): Promise<void>;
}

/**
 * Runs a private nginx (never the system's /etc/nginx): one worker, in the foreground,
 * with its pid, logs and temp files all under `dir`. It is ready when `ready` answers over
 * HTTP(S), or, given `{ port }`, when that port accepts a TCP connection.
 */
export async function startNginx(name: string, dir: string, blocks: NginxBlocks, ready: Probe | { port: number }): Promise<Nginx> {
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  // Started as root, nginx's worker would become nobody, which cannot read the private dir.
  const runAsRoot = process.getuid?.() === 0 ? '\nuser root root;' : '';
  const http = blocks.http === undefined ? '' : `http {
  access_log off;
  # Debian's defaults live under /var/lib/nginx, which another nginx may own.
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  # wrk keeps each connection for the whole run; nginx's default (1000) would make it reconnect.
  keepalive_requests 1000000;
${blocks.http}
}
`;
  const stream = blocks.stream === undefined ? '' : `stream {
${blocks.stream}
}
`;
  writeFileSync(conf, `# ${name}, written by bench/peers/nginx.ts
${blocks.stream === undefined ? '' : `load_module ${STREAM_MODULE};\n`}daemon off;
master_process on;
worker_processes 1;${runAsRoot}
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
${http}${stream}`);
  // -e: the error log before the config is read (Debian's default is a system path).
  const child = startChild(name, 'nginx', ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')]);
  try {
    if ('port' in ready) await waitUntilListening(child, ready.port);
    else await waitUntilServing(child, ready);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, stop: () => child.stop() };
}

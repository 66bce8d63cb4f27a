import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export const CHP_PACKAGE = new URL('../../node_modules/configurable-http-proxy/', import.meta.url).pathname;
export const CHP_BIN = `${CHP_PACKAGE}bin/configurable-http-proxy`;

const INSTALL_HINT = 'run .ci/run (as root), or: apt-get install -y nginx-light libnginx-mod-stream wrk haproxy redis-server caddy nghttp2-client';
/** nginx's stream module (libnginx-mod-stream): the nginx TCP peer loads it. */
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** Each tool and the argument that makes it print its version and exit. */
const TOOLS: [string, string][] = [
  ['nginx', '-v'], ['wrk', '-v'], ['haproxy', '-v'], ['redis-server', '--version'], ['redis-benchmark', '--version'], ['caddy', 'version'], ['h2load', '--version'],
];

function runTool(cmd: string, args: string[]): { found: boolean; text: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return { found: false, text: r.error.message };
  return { found: true, text: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * The bench needs real nginx (with its stream module), wrk, HAProxy, Redis, Caddy and h2load
 * (nghttp2-client); without them it must fail loudly rather than skip, or a missing CI
 * package would silently turn the bench smoke test into a no-op.
 */
export function requireTools(): void {
  const missing = TOOLS.filter(([t, arg]) => !runTool(t, [arg]).found).map(([t]) => t);
  if (missing.length) throw new Error(`bench: ${missing.join(', ')} not found on PATH; ${INSTALL_HINT}`);
  if (!existsSync(STREAM_MODULE)) throw new Error(`bench: nginx's stream module (${STREAM_MODULE}) is missing; ${INSTALL_HINT}`);
  try {
    readFileSync(`${CHP_PACKAGE}package.json`);
  } catch {
    throw new Error('bench: configurable-http-proxy is not in node_modules; run npm ci');
  }
}

export interface Versions {
  node: string;
  nginx: string;
  wrk: string;
  haproxy: string;
  redis: string;
  caddy: string;
  h2load: string;
  configurableHttpProxy: string;
  cpu: string;
  nproc: number;
  kernel: string;
}

export function versions(): Versions {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    node: process.version,
    nginx: runTool('nginx', ['-v']).text.trim().replace(/^nginx version:\s*/, ''),
    // wrk -v prints its usage after the version line.
    wrk: runTool('wrk', ['-v']).text.split('\n')[0].replace(/\s*Copyright.*$/, '').trim(),
    haproxy: runTool('haproxy', ['-v']).text.split('\n')[0].replace(/^HA-?Proxy version\s*/i, '').replace(/\s+\d{4}\/\d{2}\/\d{2}.*$/, '').trim(),
    redis: /v=(\S+)/.exec(runTool('redis-server', ['--version']).text)?.[1] ?? 'unknown',
    // "2.6.2" from Debian; upstream builds add " h1:…" (the module hash).
    caddy: runTool('caddy', ['version']).text.trim().split(/\s/)[0],
    h2load: runTool('h2load', ['--version']).text.trim().replace(/^h2load\s+/, ''),
    configurableHttpProxy: (JSON.parse(readFileSync(`${CHP_PACKAGE}package.json`, 'utf8')) as { version: string }).version,
    cpu: model.trim(),
    nproc: os.availableParallelism(),
    kernel: `${os.type()} ${os.release()}`,
  };
}

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export const CHP_PACKAGE = new URL('../../node_modules/configurable-http-proxy/', import.meta.url).pathname;
export const CHP_BIN = `${CHP_PACKAGE}bin/configurable-http-proxy`;

const INSTALL_HINT = 'run .ci/run (as root), or: apt-get install -y nginx-light wrk';

function runTool(cmd: string, args: string[]): { found: boolean; text: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return { found: false, text: r.error.message };
  return { found: true, text: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * The bench needs real nginx and wrk; without them it must fail loudly rather than skip,
 * or a missing CI package would silently turn the bench smoke test into a no-op.
 */
export function requireTools(): void {
  const missing = ['nginx', 'wrk'].filter((t) => !runTool(t, ['-v']).found);
  if (missing.length) throw new Error(`bench: ${missing.join(' and ')} not found on PATH; ${INSTALL_HINT}`);
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
    configurableHttpProxy: (JSON.parse(readFileSync(`${CHP_PACKAGE}package.json`, 'utf8')) as { version: string }).version,
    cpu: model.trim(),
    nproc: os.availableParallelism(),
    kernel: `${os.type()} ${os.release()}`,
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const WHARF = new URL('../../bin/wharf.ts', import.meta.url).pathname;

export interface GatewayProcess {
  home: string;
  httpsPort: number;
  adminPort: number;
  httpPort?: number;
  /** The CA that signed the gateway's certificate (PEM). */
  ca: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Reuse a WHARF_HOME (its certificates and session key); default: a new temporary one. */
  home?: string;
}

function port(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Runs the real `wharf gateway` as a separate process on free ports and waits until it serves. */
export async function startGateway(options: StartOptions = {}): Promise<GatewayProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'wharf-gw-'));
  const runFile = join(home, 'run', 'gateway.json');
  rmSync(runFile, { force: true });
  const args = options.args ?? [];
  // One process unless a test asks for workers: the suite's gateways are many and short-lived,
  // and the supervisor and its workers have a test of their own (gateway-workers.test.ts).
  const workers = args.includes('--workers') ? [] : ['--workers', '1'];
  const child = spawn(process.execPath, [WHARF, 'gateway', '--https-port', '0', '--admin-port', '0', ...workers, ...args], {
    env: { ...process.env, WHARF_HOME: home, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!existsSync(runFile)) {
    if (child.exitCode !== null) throw new Error(`wharf gateway exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`wharf gateway did not start in time:\n${out}`);
    }
    await sleep(25);
  }
  const run = JSON.parse(readFileSync(runFile, 'utf8')) as { https: string; admin: string; http?: string };
  return {
    home,
    httpsPort: port(run.https),
    adminPort: port(run.admin),
    httpPort: run.http ? port(run.http) : undefined,
    ca: readFileSync(join(home, 'certs', 'ca.pem'), 'utf8'),
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(5_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        return exited;
      }
      return code;
    },
  };
}

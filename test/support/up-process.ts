import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCollect, until, WHARF, type Running } from './tcp.ts';

/* `wharf up` (control, gateway and agent in one process) as a real process, on free ports. */

export interface UpRun {
  control: string;
  gateway: { https: string; admin: string };
  publicUrl: string;
  agent: string | null;
}

/** The port of `host:port`. */
export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** Starts `wharf up` with `env` (WHARF_HOME set) and waits for its run file. */
export async function startUp(env: NodeJS.ProcessEnv): Promise<{ up: Running; run: UpRun }> {
  const home = env.WHARF_HOME;
  if (!home) throw new Error('startUp needs WHARF_HOME in env');
  const runFile = join(home, 'run', 'up.json');
  rmSync(runFile, { force: true });
  const up = spawnCollect(process.execPath, [WHARF, 'up', '--https-port', '0', '--admin-port', '0', '--control-listen', '127.0.0.1:0', '--agent-metrics-listen', '127.0.0.1:0', '--log-level', 'warn'], env);
  try {
    await until('wharf up writes its run file', () => existsSync(runFile) || up.child.exitCode !== null, 30_000);
    if (!existsSync(runFile)) throw new Error(`wharf up exited:\n${up.stderr()}`);
    // The banner is written before the run file, but the pipe may be read after the file is seen.
    await until('wharf up\'s banner is read', () => up.stderr().includes('wharf up: dashboard'), 5_000);
  } catch (err) {
    await up.stop();
    throw err;
  }
  return { up, run: JSON.parse(readFileSync(runFile, 'utf8')) as UpRun };
}

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCollect, until, WHARF, type Running } from './tcp.ts';

/**
 * Runs the real `wharf control` on port 0 with `env` (its WHARF_HOME included) and waits
 * until it has written its run file; a control that exits first fails with its output.
 */
export async function startControlProcess(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Running> {
  if (!env.WHARF_HOME) throw new Error('startControlProcess needs WHARF_HOME in env');
  const runFile = join(env.WHARF_HOME, 'run', 'control.json');
  rmSync(runFile, { force: true });
  const control = spawnCollect(process.execPath, [WHARF, 'control', '--listen', '127.0.0.1:0', ...args], env);
  await until('control writes its run file', () => existsSync(runFile) || control.child.exitCode !== null, 20_000);
  if (!existsSync(runFile)) throw new Error(`wharf control exited:\n${control.stderr()}${control.stdout()}`);
  return control;
}

import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** WHARF_HOME (default `~/.wharf`): database, keys, certificates, run files. */
export function wharfHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.WHARF_HOME || join(homedir(), '.wharf'));
}

/**
 * Writes `WHARF_HOME/run/<part>.json` with the addresses a server bound, atomically, so that
 * the CLI and tests can find ports chosen with 0 without parsing logs.
 */
export function writeRunFile(home: string, part: string, info: object): string {
  const dir = join(home, 'run');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${part}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, ...info }, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return file;
}

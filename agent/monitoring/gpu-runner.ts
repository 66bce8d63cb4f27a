import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GPU_QUERY_FIELDS, parseNvidiaSmi, type GpuReading } from './nvidia-smi.ts';

/*
 * Runs `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` with a timeout. On a host
 * without nvidia-smi on PATH it is quietly absent: `read()` answers [] without spawning
 * anything and without a log line. A run that fails or times out answers [] as well (the
 * caller logs at debug at most); one that hangs is killed.
 */

const RECHECK_MS = 5 * 60_000; // nvidia-smi installed while the agent runs is noticed within this

/** The executable `name` on PATH, or undefined. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch { /* not here */ }
  }
  return undefined;
}

export class GpuRunner {
  readonly #timeoutMs: number;
  readonly #command: string;
  readonly #searchPath: string | undefined;
  #path: string | undefined;
  #checkedAt = -Infinity;

  constructor(options: { timeoutMs?: number; command?: string; searchPath?: string } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 3_000;
    this.#command = options.command ?? 'nvidia-smi';
    this.#searchPath = options.searchPath;
  }

  /** Whether nvidia-smi is on PATH (looked up again every few minutes). */
  get available(): boolean {
    const now = Date.now();
    if (now - this.#checkedAt > RECHECK_MS) {
      this.#path = onPath(this.#command, this.#searchPath);
      this.#checkedAt = now;
    }
    return this.#path !== undefined;
  }

  /** The host's GPUs now; [] without nvidia-smi or when it fails. Rejects only on a failed run, for debug logs. */
  read(): Promise<GpuReading[]> {
    if (!this.available) return Promise.resolve([]);
    const args = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
    return new Promise((resolve, reject) => {
      execFile(this.#path!, args, { timeout: this.#timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout) => {
        if (err) reject(new Error(`nvidia-smi failed: ${err.message.split('\n')[0]}`));
        else resolve(parseNvidiaSmi(String(stdout)));
      });
    });
  }
}

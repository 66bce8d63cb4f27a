import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where a gateway marks a one-time link used before exchanging it (DESIGN.md "Tokens": a link
 * used twice is refused). Fed by control, control's store decides for every gateway
 * (control-links.ts); on a routes file, the gateway's own table, kept in WHARF_HOME (LocalLinks).
 */
export interface LinkClaims {
  /**
   * Marks the link `jti` (expiring at `expS`, Unix seconds) used: true the first time, false
   * after. Throws AuthFailure `GW_LINK_UNAVAILABLE` when that cannot be decided now.
   */
  claim(jti: string, expS: number): boolean | Promise<boolean>;
  close(): void;
}

/**
 * Remembers the `jti` of one-time link tokens until they expire, so that a link used twice
 * is refused. Entries leave once their token could no longer be accepted anyway.
 */
export class OneTimeLinks {
  readonly #used = new Map<string, number>(); // jti → expiry, Unix ms
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  /** Marks `jti` used; false when it was used before (or the table is full of live links). */
  claim(jti: string, expMs: number, nowMs = Date.now()): boolean {
    if (this.#used.has(jti)) return false;
    if (this.#used.size >= this.#max) this.sweep(nowMs);
    if (this.#used.size >= this.#max) return false;
    this.#used.set(jti, expMs);
    return true;
  }

  has(jti: string): boolean {
    return this.#used.has(jti);
  }

  sweep(nowMs = Date.now()): void {
    for (const [jti, exp] of this.#used) if (exp <= nowMs) this.#used.delete(jti);
  }

  /** [jti, expiry ms] of every link remembered. */
  entries(): IterableIterator<[string, number]> {
    return this.#used.entries();
  }

  get size(): number {
    return this.#used.size;
  }
}

const SWEEP_EVERY_MS = 60_000; // one minute
/** The file is rewritten with the live links only once it holds this many more lines than those. */
const COMPACT_SLACK = 1_000;

/**
 * A gateway's own used links: in memory, and with `file` (WHARF_HOME/gateway/used-links) also
 * on disk, so that a link stays used across a restart. One JSON line `[jti, expiry ms]` is
 * appended per claim before the link is exchanged; the file is read at start and rewritten
 * with the live links when it has grown well past them.
 */
export class LocalLinks implements LinkClaims {
  readonly #table = new OneTimeLinks();
  readonly #file: string | undefined;
  readonly #sweeper: NodeJS.Timeout;
  #lines = 0;

  constructor(file?: string) {
    this.#file = file;
    if (file) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      if (existsSync(file)) {
        const now = Date.now();
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          const entry = parseLine(line);
          if (entry && entry[1] > now) this.#table.claim(entry[0], entry[1], now);
        }
      }
      this.#rewrite();
    }
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS).unref();
  }

  claim(jti: string, expS: number): boolean {
    const expMs = expS * 1000;
    if (!this.#table.claim(jti, expMs)) return false;
    if (this.#file) {
      // Written before the cookie goes out: a crash after it loses nothing that was used.
      appendFileSync(this.#file, `${JSON.stringify([jti, expMs])}\n`, { mode: 0o600 });
      this.#lines++;
    }
    return true;
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  get size(): number {
    return this.#table.size;
  }

  #sweep(): void {
    this.#table.sweep();
    if (this.#file && this.#lines > this.#table.size + COMPACT_SLACK) this.#rewrite();
  }

  /** The live links, written to a new file that then replaces the old one (never half a file). */
  #rewrite(): void {
    const file = this.#file!;
    const lines = [...this.#table.entries()].map((e) => `${JSON.stringify(e)}\n`);
    const temp = `${file}.tmp`;
    writeFileSync(temp, lines.join(''), { mode: 0o600 });
    renameSync(temp, file);
    this.#lines = lines.length;
  }
}

function parseLine(line: string): [string, number] | undefined {
  if (!line) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number' ? [v[0], v[1]] : undefined;
  } catch {
    return undefined; // a line cut short by a crash
  }
}

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { SessionState } from '../../protocol/route-stream.ts';
import { parse, ValidationError } from '../../protocol/validate.ts';

/** What a gateway last had from control: its routes and the app session state. */
export interface LastTable {
  routes: Route[];
  sessions: SessionState | undefined;
  /** When it was written, Unix ms. */
  savedAt: number;
}

const SAVE_AFTER_MS = 500;

/**
 * The last table control sent, on disk, so that a gateway started while control is away serves
 * it rather than nothing (z2jh #1496: a restarted proxy that forgets its routes) until control
 * answers with a fresh one. The file holds the app cookie key, a secret: mode 0600, written
 * whole (a temporary file renamed over it), never logged. Writes are gathered: one per
 * SAVE_AFTER_MS at most, the last table winning.
 */
export class LastRoutes {
  readonly #file: string;
  readonly #log: Logger;
  #pending: LastTable | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(file: string, log: Logger) {
    this.#file = file;
    this.#log = log;
  }

  save(routes: Route[], sessions: SessionState | undefined): void {
    this.#pending = { routes, sessions, savedAt: Date.now() };
    this.#timer ??= setTimeout(() => this.flush(), SAVE_AFTER_MS);
    this.#timer.unref();
  }

  /** Writes what is pending now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const table = this.#pending;
    this.#pending = undefined;
    if (!table) return;
    try {
      mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
      const temp = `${this.#file}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(table), { mode: 0o600 });
      renameSync(temp, this.#file);
    } catch (err) {
      this.#log.warn({ file: this.#file, err: (err as Error).message }, 'could not keep the last routes from control on disk');
    }
  }

  /** The table on disk, checked as control's own lines are; undefined when there is none or it cannot be read. */
  load(): LastTable | undefined {
    let raw: { routes?: unknown; sessions?: unknown; savedAt?: unknown };
    try {
      raw = JSON.parse(readFileSync(this.#file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn({ file: this.#file, err: (err as Error).message }, 'the last routes from control on disk cannot be read; ignored');
      return undefined;
    }
    try {
      if (!Array.isArray(raw.routes) || typeof raw.savedAt !== 'number') throw new ValidationError('', 'not a table of routes');
      return {
        routes: raw.routes.map((r, i) => parseRoute(r, `routes[${i}]`)),
        sessions: raw.sessions === undefined ? undefined : parse(SessionState, raw.sessions, 'sessions'),
        savedAt: raw.savedAt,
      };
    } catch (err) {
      this.#log.warn({ file: this.#file, err: (err as Error).message }, 'the last routes from control on disk are not valid; ignored');
      return undefined;
    }
  }
}

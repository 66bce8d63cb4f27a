import { ControlError } from '../../errors.ts';
import type { Clock, ConsoleLine, ConsoleStore, ConsoleStream } from '../store.ts';
import type { Sql } from './sql.ts';

export interface ConsoleLimits {
  /** Lines kept per instance; older ones are dropped as new ones arrive. */
  lines: number;
  /** Characters kept of one line; the rest is cut and marked with "…". */
  lineChars: number;
}

/** 5,000 lines of at most 8 KiB: at most about 40 MiB for one very noisy instance, usually far less. */
export const DEFAULT_CONSOLE_LIMITS: ConsoleLimits = { lines: 5_000, lineChars: 8 * 1024 };

const DEFAULT_PAGE = 1_000; // lines per since() call

export class SqlConsole implements ConsoleStore {
  #sql: Sql;
  #clock: Clock;
  #limits: ConsoleLimits;

  constructor(sql: Sql, clock: Clock, limits: ConsoleLimits = DEFAULT_CONSOLE_LIMITS) {
    this.#sql = sql;
    this.#clock = clock;
    this.#limits = limits;
  }

  async append(instance: string, lines: { text: string; stream?: ConsoleStream; at?: number }[]): Promise<number> {
    const now = this.#clock();
    return this.#sql.transaction(async (tx) => {
      if (!(await tx.get('SELECT 1 FROM instances WHERE id = ? AND removed IS NULL', instance))) throw new ControlError('CTL_NOT_FOUND', `no instance with id "${instance}"`);
      let seq = (await tx.get<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM console_lines WHERE instance = ?', instance))!.seq ?? 0;
      for (const line of lines) {
        seq += 1;
        const text = cut(line.text, this.#limits.lineChars);
        await tx.run('INSERT INTO console_lines (instance, seq, at, stream, text) VALUES (?, ?, ?, ?, ?)', instance, seq, line.at ?? now, line.stream ?? 'event', text);
      }
      // Seqs are dense per instance, so the newest N are exactly those above seq − N.
      await tx.run('DELETE FROM console_lines WHERE instance = ? AND seq <= ?', instance, seq - this.#limits.lines);
      return seq;
    });
  }

  async since(instance: string, seq: number, limit = DEFAULT_PAGE): Promise<ConsoleLine[]> {
    return (await this.#sql.all<ConsoleLine>('SELECT seq, at, stream, text FROM console_lines WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?', instance, seq, limit))
      .map((r) => ({ seq: r.seq, at: r.at, stream: r.stream, text: r.text }));
  }
}

/** At most `max` characters and an ellipsis, never splitting a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

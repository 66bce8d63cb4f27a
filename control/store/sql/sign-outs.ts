import type { SignOutStore } from '../store.ts';
import type { Sql } from './sql.ts';

export class SqlSignOuts implements SignOutStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async add(sid: string, expires: number): Promise<void> {
    await this.#sql.run('INSERT INTO signed_out (sid, expires) VALUES (?, ?) ON CONFLICT (sid) DO NOTHING', sid, expires);
  }

  async list(now: number): Promise<{ sid: string; expires: number }[]> {
    return (await this.#sql.all<{ sid: string; expires: number }>('SELECT sid, expires FROM signed_out WHERE expires > ? ORDER BY sid', now))
      .map((r) => ({ sid: r.sid, expires: Number(r.expires) }));
  }

  async sweep(now: number): Promise<number> {
    return this.#sql.run('DELETE FROM signed_out WHERE expires <= ?', now);
  }
}

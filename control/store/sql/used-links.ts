import type { UsedLinkStore } from '../store.ts';
import type { Sql } from './sql.ts';

export class SqlUsedLinks implements UsedLinkStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async claim(jti: string, expires: number): Promise<boolean> {
    // One statement: of two gateways claiming the same link at once, exactly one inserts it.
    return (await this.#sql.run('INSERT INTO used_links (jti, expires) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', jti, expires)) === 1;
  }

  async sweep(now: number): Promise<number> {
    return this.#sql.run('DELETE FROM used_links WHERE expires <= ?', now);
  }
}

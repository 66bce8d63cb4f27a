import type { UsedLinkStore } from '../store.ts';
import type { Database } from './database.ts';

export class SqliteUsedLinks implements UsedLinkStore {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async claim(jti: string, expires: number): Promise<boolean> {
    // One statement: of two gateways claiming the same link at once, exactly one inserts it.
    return this.#db.run('INSERT INTO used_links (jti, expires) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', jti, expires) === 1;
  }

  async sweep(now: number): Promise<number> {
    return this.#db.run('DELETE FROM used_links WHERE expires <= ?', now);
  }
}

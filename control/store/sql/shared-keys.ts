import type { Clock, SharedKeyStore } from '../store.ts';
import type { Sql } from './sql.ts';

export class SqlSharedKeys implements SharedKeyStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async getOrAdd(name: string, initial: string): Promise<string> {
    // Insert-if-absent, then read: of two controls making the key at once, the second reads the first's.
    await this.#sql.run('INSERT INTO shared_keys (name, value, created) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', name, initial, this.#clock());
    return (await this.#sql.get<{ value: string }>('SELECT value FROM shared_keys WHERE name = ?', name))!.value;
  }
}

import type { Revocation } from '../../../protocol/route-stream.ts';
import type { SessionRevocationStore } from '../store.ts';
import type { Database } from './database.ts';

export class SqliteSessionRevocations implements SessionRevocationStore {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async add(r: Revocation): Promise<void> {
    this.#db.transaction(() => {
      this.#db.run(
        `INSERT INTO session_revocations (user, instance, before) VALUES (?, ?, ?)
           ON CONFLICT (user, instance) DO UPDATE SET before = max(before, excluded.before)`,
        r.user, r.instance, r.before);
      // An instance revocation that the user's `*` one covers refuses nothing more.
      this.#db.run(
        `DELETE FROM session_revocations WHERE user = ? AND instance != '*'
           AND before <= (SELECT before FROM session_revocations WHERE user = ? AND instance = '*')`,
        r.user, r.user);
    });
  }

  async list(): Promise<Revocation[]> {
    return this.#db.all<Revocation>('SELECT user, instance, before FROM session_revocations ORDER BY user, instance')
      .map((row) => ({ user: row.user, instance: row.instance, before: row.before }));
  }
}

import type { Revocation } from '../../../protocol/route-stream.ts';
import type { SessionRevocationStore } from '../store.ts';
import type { Sql } from './sql.ts';

export class SqlSessionRevocations implements SessionRevocationStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async add(r: Revocation): Promise<void> {
    await this.#sql.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO session_revocations ("user", instance, before) VALUES (?, ?, ?)
           ON CONFLICT ("user", instance) DO UPDATE
           SET before = CASE WHEN excluded.before > session_revocations.before THEN excluded.before ELSE session_revocations.before END`,
        r.user, r.instance, r.before);
      // An instance revocation that the user's `*` one covers refuses nothing more.
      await tx.run(
        `DELETE FROM session_revocations WHERE "user" = ? AND instance != '*'
           AND before <= (SELECT before FROM session_revocations WHERE "user" = ? AND instance = '*')`,
        r.user, r.user);
    });
  }

  async list(): Promise<Revocation[]> {
    return (await this.#sql.all<Revocation>('SELECT "user", instance, before FROM session_revocations ORDER BY "user", instance'))
      .map((row) => ({ user: row.user, instance: row.instance, before: row.before }));
  }
}

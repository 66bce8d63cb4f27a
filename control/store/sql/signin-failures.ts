import type { SigninFailureStore, SigninTally } from '../store.ts';
import type { Sql } from './sql.ts';

type Kind = 'address' | 'user';

export class SqlSigninFailures implements SigninFailureStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  attempt<T>(
    address: string, user: string, now: number, forgetMs: number,
    decide: (byAddress: SigninTally | undefined, byUser: SigninTally | undefined) => { count: boolean; value: T },
  ): Promise<T> {
    // One transaction: PostgreSQL (SERIALIZABLE) retries it when a parallel attempt interleaved,
    // so `decide`, which is pure, may run more than once.
    return this.#sql.transaction(async (tx) => {
      const live = async (kind: Kind, key: string): Promise<SigninTally | undefined> => {
        const row = await tx.get<{ failures: number; last: number }>('SELECT failures, last FROM signin_failures WHERE kind = ? AND key = ?', kind, key);
        return row && now - Number(row.last) < forgetMs ? { failures: Number(row.failures), last: Number(row.last) } : undefined;
      };
      const byAddress = await live('address', address);
      const byUser = await live('user', user);
      const { count, value } = decide(byAddress, byUser);
      if (count) {
        for (const [kind, key, tally] of [['address', address, byAddress], ['user', user, byUser]] as const) {
          await tx.run(
            `INSERT INTO signin_failures (kind, key, failures, last) VALUES (?, ?, ?, ?)
               ON CONFLICT (kind, key) DO UPDATE SET failures = excluded.failures, last = excluded.last`,
            kind, key, (tally?.failures ?? 0) + 1, now);
        }
      }
      return value;
    });
  }

  async succeeded(address: string, user: string): Promise<void> {
    await this.#sql.transaction(async (tx) => {
      await tx.run("UPDATE signin_failures SET failures = failures - 1 WHERE kind = 'address' AND key = ?", address);
      await tx.run("DELETE FROM signin_failures WHERE (kind = 'address' AND key = ? AND failures <= 0) OR (kind = 'user' AND key = ?)", address, user);
    });
  }

  async sweep(before: number): Promise<number> {
    return this.#sql.run('DELETE FROM signin_failures WHERE last <= ?', before);
  }
}

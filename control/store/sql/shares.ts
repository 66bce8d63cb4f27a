import type { Clock, Share, ShareRole, ShareStore } from '../store.ts';
import type { Sql } from './sql.ts';

interface ShareRow {
  instance: string;
  user: string;
  role: ShareRole;
  created: number;
  by: string | null;
}

// "user" is quoted: a reserved word in PostgreSQL, and SQLite reads the quotes the same way.
const COLUMNS = 'instance, "user", role, created, by';

/** Instances shared with other users (control/access/instance-access.ts reads them). */
export class SqlShares implements ShareStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async set(instance: string, user: string, role: ShareRole, by: string): Promise<Share> {
    // A new role keeps the share's first date and sharer: it is the same share, changed.
    await this.#sql.run(
      `INSERT INTO instance_shares (${COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (instance, "user") DO UPDATE SET role = excluded.role`,
      instance, user, role, this.#clock(), by,
    );
    return (await this.get(instance, user))!;
  }

  async get(instance: string, user: string): Promise<Share | undefined> {
    const row = await this.#sql.get<ShareRow>(`SELECT ${COLUMNS} FROM instance_shares WHERE instance = ? AND "user" = ?`, instance, user);
    return row && toShare(row);
  }

  async list(instance: string): Promise<Share[]> {
    return (await this.#sql.all<ShareRow>(`SELECT ${COLUMNS} FROM instance_shares WHERE instance = ? ORDER BY created, "user"`, instance)).map(toShare);
  }

  async remove(instance: string, user: string): Promise<boolean> {
    return (await this.#sql.run('DELETE FROM instance_shares WHERE instance = ? AND "user" = ?', instance, user)) > 0;
  }
}

function toShare(r: ShareRow): Share {
  return { instance: r.instance, user: r.user, role: r.role, created: Number(r.created), by: r.by };
}

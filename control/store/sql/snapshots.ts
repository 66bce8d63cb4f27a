import { ControlError } from '../../errors.ts';
import { newId } from '../random-id.ts';
import type { Clock, Snapshot, SnapshotStore } from '../store.ts';
import type { Sql } from './sql.ts';

export const SNAPSHOT_COLUMNS = 'id, instance, owner, sha256, size, created, path';
const COLUMNS = SNAPSHOT_COLUMNS;

export function toSnapshot(row: Snapshot): Snapshot {
  return { id: row.id, instance: row.instance, owner: row.owner, sha256: row.sha256, size: row.size, created: row.created, path: row.path };
}

/** The index of snapshot blobs; the blobs themselves live in the blob store under WHARF_HOME. */
export class SqlSnapshots implements SnapshotStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async add(input: Omit<Snapshot, 'id' | 'created'> & { id?: string }): Promise<Snapshot> {
    if (!/^[0-9a-f]{64}$/.test(input.sha256)) throw new ControlError('CTL_INVALID', 'sha256 must be 64 lower-case hex digits');
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new ControlError('CTL_INVALID', 'size must be a whole number of bytes');
    const snapshot: Snapshot = { ...input, id: input.id ?? newId('s'), created: this.#clock() };
    await this.#sql.transaction(async (tx) => {
      if (!(await tx.get('SELECT 1 FROM instances WHERE id = ?', snapshot.instance))) throw new ControlError('CTL_NOT_FOUND', `no instance with id "${snapshot.instance}"`);
      if (!(await tx.get('SELECT 1 FROM users WHERE id = ?', snapshot.owner))) throw new ControlError('CTL_NOT_FOUND', `no user with id "${snapshot.owner}"`);
      await tx.run(`INSERT INTO snapshots (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        snapshot.id, snapshot.instance, snapshot.owner, snapshot.sha256, snapshot.size, snapshot.created, snapshot.path);
    });
    return toSnapshot(snapshot);
  }

  async get(id: string): Promise<Snapshot | undefined> {
    const row = await this.#sql.get<Snapshot>(`SELECT ${COLUMNS} FROM snapshots WHERE id = ?`, id);
    return row && toSnapshot(row);
  }

  async list(filter: { owner?: string; instance?: string } = {}): Promise<Snapshot[]> {
    const where: string[] = [];
    const params: string[] = [];
    for (const column of ['owner', 'instance'] as const) {
      const value = filter[column];
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const sql = `SELECT ${COLUMNS} FROM snapshots${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created DESC, id DESC`;
    return (await this.#sql.all<Snapshot>(sql, ...params)).map(toSnapshot);
  }

  async delete(id: string): Promise<boolean> {
    return this.#sql.transaction(async (tx) => {
      const row = await tx.get<{ instance: string }>('SELECT instance FROM snapshots WHERE id = ?', id);
      if (!row) return false;
      await tx.run('DELETE FROM snapshots WHERE id = ?', id);
      // A removed instance was kept only for its snapshots: the last one takes it along.
      await tx.run('DELETE FROM instances WHERE id = ? AND removed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshots WHERE instance = ?)', row.instance, row.instance);
      return true;
    });
  }
}

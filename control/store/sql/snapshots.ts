import { ControlError } from '../../errors.ts';
import { newId } from '../random-id.ts';
import type { Clock, Snapshot, SnapshotStore } from '../store.ts';
import type { Database } from './database.ts';

export const SNAPSHOT_COLUMNS = 'id, instance, owner, sha256, size, created, path';
const COLUMNS = SNAPSHOT_COLUMNS;

export function toSnapshot(row: Snapshot): Snapshot {
  return { id: row.id, instance: row.instance, owner: row.owner, sha256: row.sha256, size: row.size, created: row.created, path: row.path };
}

/** The index of snapshot blobs; the blobs themselves live in the blob store under WHARF_HOME. */
export class SqliteSnapshots implements SnapshotStore {
  #db: Database;
  #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async add(input: Omit<Snapshot, 'id' | 'created'> & { id?: string }): Promise<Snapshot> {
    if (!/^[0-9a-f]{64}$/.test(input.sha256)) throw new ControlError('CTL_INVALID', 'sha256 must be 64 lower-case hex digits');
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new ControlError('CTL_INVALID', 'size must be a whole number of bytes');
    const snapshot: Snapshot = { ...input, id: input.id ?? newId('s'), created: this.#clock() };
    this.#db.transaction(() => {
      if (!this.#db.get('SELECT 1 FROM instances WHERE id = ?', snapshot.instance)) throw new ControlError('CTL_NOT_FOUND', `no instance with id "${snapshot.instance}"`);
      if (!this.#db.get('SELECT 1 FROM users WHERE id = ?', snapshot.owner)) throw new ControlError('CTL_NOT_FOUND', `no user with id "${snapshot.owner}"`);
      this.#db.run(`INSERT INTO snapshots (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        snapshot.id, snapshot.instance, snapshot.owner, snapshot.sha256, snapshot.size, snapshot.created, snapshot.path);
    });
    return toSnapshot(snapshot);
  }

  async get(id: string): Promise<Snapshot | undefined> {
    const row = this.#db.get<Snapshot>(`SELECT ${COLUMNS} FROM snapshots WHERE id = ?`, id);
    return row && toSnapshot(row);
  }

  async list(filter: { owner?: string; instance?: string } = {}): Promise<Snapshot[]> {
    return this.#db.all<Snapshot>(
      `SELECT ${COLUMNS} FROM snapshots WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR instance = ?2) ORDER BY created DESC, id DESC`,
      filter.owner ?? null, filter.instance ?? null,
    ).map(toSnapshot);
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.transaction(() => {
      const row = this.#db.get<{ instance: string }>('SELECT instance FROM snapshots WHERE id = ?', id);
      if (!row) return false;
      this.#db.run('DELETE FROM snapshots WHERE id = ?', id);
      // A removed instance was kept only for its snapshots: the last one takes it along.
      this.#db.run('DELETE FROM instances WHERE id = ? AND removed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshots WHERE instance = ?)', row.instance, row.instance);
      return true;
    });
  }
}

import type { SigningKeyRecord, SigningKeyStore } from '../store.ts';
import type { Sql } from './sql.ts';

interface KeyRow {
  kid: string;
  created: number;
  retired: number | null;
  private_key: string;
}

const COLUMNS = 'kid, created, retired, private_key';

function toRecord(row: KeyRow): SigningKeyRecord {
  return { kid: row.kid, created: row.created, retired: row.retired, privateKey: row.private_key };
}

export class SqlSigningKeys implements SigningKeyStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async list(): Promise<SigningKeyRecord[]> {
    return (await this.#sql.all<KeyRow>(`SELECT ${COLUMNS} FROM signing_keys ORDER BY created, kid`)).map(toRecord);
  }

  async rotate(currentKid: string | undefined, key: SigningKeyRecord): Promise<boolean> {
    return this.#sql.transaction(async (tx) => {
      const current = await tx.get<{ kid: string; created: number }>('SELECT kid, created FROM signing_keys WHERE retired IS NULL ORDER BY created DESC, kid DESC LIMIT 1');
      if (current?.kid !== currentKid) return false;
      await tx.run('UPDATE signing_keys SET retired = CASE WHEN created > ? THEN created ELSE ? END WHERE retired IS NULL', key.created, key.created);
      await insert(tx, { ...key, retired: null });
      return true;
    });
  }

  async importIfEmpty(keys: SigningKeyRecord[]): Promise<boolean> {
    return this.#sql.transaction(async (tx) => {
      if (await tx.get('SELECT 1 FROM signing_keys LIMIT 1')) return false;
      for (const key of keys) await insert(tx, key);
      return true;
    });
  }

  async remove(kid: string): Promise<void> {
    await this.#sql.run('DELETE FROM signing_keys WHERE kid = ?', kid);
  }
}

function insert(tx: Sql, key: SigningKeyRecord): Promise<number> {
  return tx.run(`INSERT INTO signing_keys (${COLUMNS}) VALUES (?, ?, ?, ?)`, key.kid, key.created, key.retired, key.privateKey);
}

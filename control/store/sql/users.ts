import { ControlError } from '../../errors.ts';
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword, type ScryptCost } from '../passwords.ts';
import { newId } from '../random-id.ts';
import type { Clock, User, UserStore } from '../store.ts';
import { isUniqueViolation, type Sql } from './sql.ts';

interface UserRow {
  id: string;
  name: string;
  password_hash: string;
  admin: number;
  created: number;
}

const COLUMNS = 'id, name, admin, created';

export function toUser(row: Omit<UserRow, 'password_hash'>): User {
  return { id: row.id, name: row.name, admin: row.admin === 1, created: row.created };
}

export class SqlUsers implements UserStore {
  #sql: Sql;
  #clock: Clock;
  #cost: ScryptCost;
  #dummyHash: Promise<string> | undefined;

  constructor(sql: Sql, clock: Clock, cost: ScryptCost = DEFAULT_SCRYPT_COST) {
    this.#sql = sql;
    this.#clock = clock;
    this.#cost = cost;
  }

  async add(input: { name: string; password: string; admin?: boolean }): Promise<User> {
    checkName(input.name);
    checkPassword(input.password);
    const hash = await hashPassword(input.password, this.#cost);
    const row = { id: newId('u'), name: input.name, admin: input.admin ? 1 : 0, created: this.#clock() };
    try {
      await this.#sql.run('INSERT INTO users (id, name, password_hash, admin, created) VALUES (?, ?, ?, ?, ?)', row.id, row.name, hash, row.admin, row.created);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlError('CTL_USER_EXISTS', `user "${input.name}" exists already`);
      throw err;
    }
    return toUser(row);
  }

  async get(id: string): Promise<User | undefined> {
    const row = await this.#sql.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ? AND removed IS NULL`, id);
    return row && toUser(row);
  }

  async getByName(name: string): Promise<User | undefined> {
    const row = await this.#sql.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE name = ? AND removed IS NULL`, name);
    return row && toUser(row);
  }

  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = await this.#sql.get<UserRow>(`SELECT ${COLUMNS}, password_hash FROM users WHERE name = ? AND removed IS NULL`, name);
    if (!row) {
      // Spend the same scrypt work for an unknown name, so timing does not tell which names exist.
      this.#dummyHash ??= hashPassword('wharf: no such user', this.#cost);
      await verifyPassword(password, await this.#dummyHash);
      return undefined;
    }
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : undefined;
  }

  async setPassword(id: string, password: string): Promise<void> {
    checkPassword(password);
    const hash = await hashPassword(password, this.#cost);
    if (await this.#sql.run('UPDATE users SET password_hash = ? WHERE id = ? AND removed IS NULL', hash, id) === 0) throw notFound(id);
  }

  /**
   * Makes or unmakes an admin; the last admin stays one. One transaction: a single UPDATE
   * with the count in a subquery is not enough on PostgreSQL, where two demotions at once
   * each see the other admin still there.
   */
  async setAdmin(id: string, admin: boolean): Promise<void> {
    await this.#sql.transaction(async (tx) => {
      const changed = admin
        ? await tx.run('UPDATE users SET admin = 1 WHERE id = ? AND removed IS NULL', id)
        : await tx.run('UPDATE users SET admin = 0 WHERE id = ? AND removed IS NULL AND (admin = 0 OR (SELECT count(*) FROM users WHERE admin = 1 AND id != ?) > 0)', id, id);
      if (changed > 0) return;
      const row = await tx.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ? AND removed IS NULL`, id);
      if (!row) throw notFound(id);
      throw new ControlError('CTL_LAST_ADMIN', `admin: "${row.name}" is the last admin and stays one; make another user an admin first`);
    });
  }

  async list(): Promise<User[]> {
    return (await this.#sql.all<UserRow>(`SELECT ${COLUMNS} FROM users WHERE removed IS NULL ORDER BY name`)).map(toUser);
  }

  /**
   * The row stays (instances and snapshots name their owner) as `~<id>`, a name no user can
   * have, no longer an admin (removed users never count as admins); the API tokens are revoked
   * in the same transaction. A removed admin may not be the last one, as with setAdmin.
   */
  async remove(id: string): Promise<void> {
    await this.#sql.transaction(async (tx) => {
      const row = await tx.get<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ? AND removed IS NULL`, id);
      if (!row) throw notFound(id);
      if (row.admin === 1 && (await tx.get<{ n: number }>('SELECT count(*) AS n FROM users WHERE admin = 1 AND id != ?', id))!.n === 0) {
        throw new ControlError('CTL_LAST_ADMIN', `"${row.name}" is the last admin and cannot be removed; make another user an admin first`);
      }
      const now = this.#clock();
      await tx.run('UPDATE users SET removed = ?, admin = 0, name = ? WHERE id = ?', now, `~${id}`, id);
      await tx.run('UPDATE api_tokens SET revoked = ? WHERE "user" = ? AND revoked IS NULL', now, id);
    });
  }
}

function notFound(id: string): ControlError {
  return new ControlError('CTL_NOT_FOUND', `no user with id "${id}"`);
}

/** A user name is typed on command lines and shown in lists: one printable word. */
function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
    throw new ControlError('CTL_INVALID', 'a user name is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit');
  }
}

function checkPassword(password: string): void {
  if (password.length === 0) throw new ControlError('CTL_INVALID', 'a password must not be empty');
  if (password.length > 1024) throw new ControlError('CTL_INVALID', 'a password has at most 1024 characters');
}

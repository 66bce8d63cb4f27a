import { API_TOKEN_PREFIX, createCredential, parseCredential, secretMatches } from '../api-tokens.ts';
import { ControlError } from '../../errors.ts';
import type { ApiToken, ApiTokenStore, Clock, User } from '../store.ts';
import type { Sql } from './sql.ts';
import { toUser } from './users.ts';

interface TokenRow {
  id: string;
  user: string;
  name: string;
  created: number;
  last_used: number | null;
  revoked: number | null;
}

const COLUMNS = 'id, "user", name, created, last_used, revoked';
/** lastUsed is a hint for people, not an audit log: one write a minute per token at most. */
const LAST_USED_RESOLUTION_MS = 60_000;

function toApiToken(row: TokenRow): ApiToken {
  return { id: row.id, user: row.user, name: row.name, created: row.created, lastUsed: row.last_used, revoked: row.revoked };
}

export class SqlApiTokens implements ApiTokenStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async create(user: string, name: string): Promise<{ apiToken: ApiToken; token: string }> {
    if (!(await this.#sql.get('SELECT 1 FROM users WHERE id = ? AND removed IS NULL', user))) throw new ControlError('CTL_NOT_FOUND', `no user with id "${user}"`);
    const credential = createCredential(API_TOKEN_PREFIX);
    const row: TokenRow = { id: credential.id, user, name, created: this.#clock(), last_used: null, revoked: null };
    await this.#sql.run('INSERT INTO api_tokens (id, "user", name, secret_hash, created) VALUES (?, ?, ?, ?, ?)', row.id, user, name, credential.hash, row.created);
    return { apiToken: toApiToken(row), token: credential.token };
  }

  async verify(token: string): Promise<User | undefined> {
    const parsed = parseCredential(token, API_TOKEN_PREFIX);
    if (!parsed) return undefined;
    const row = await this.#sql.get<{ secret_hash: string; revoked: number | null; last_used: number | null; uid: string; name: string; admin: number; created: number }>(
      `SELECT t.secret_hash, t.revoked, t.last_used, u.id AS uid, u.name, u.admin, u.created
         FROM api_tokens t JOIN users u ON u.id = t."user" WHERE t.id = ? AND u.removed IS NULL`, parsed.id);
    if (!row || !secretMatches(parsed.secret, row.secret_hash) || row.revoked !== null) return undefined;
    const now = this.#clock();
    if (row.last_used === null || now - row.last_used >= LAST_USED_RESOLUTION_MS) {
      await this.#sql.run('UPDATE api_tokens SET last_used = ? WHERE id = ?', now, parsed.id);
    }
    return toUser({ id: row.uid, name: row.name, admin: row.admin, created: row.created });
  }

  async revoke(id: string): Promise<boolean> {
    return (await this.#sql.run('UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL', this.#clock(), id)) > 0;
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const row = await this.#sql.get<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = ?`, id);
    return row && toApiToken(row);
  }

  async list(user: string): Promise<ApiToken[]> {
    return (await this.#sql.all<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE "user" = ? ORDER BY created, id`, user)).map(toApiToken);
  }
}

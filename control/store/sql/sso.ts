import type { SsoSession, SsoStore } from '../store.ts';
import type { Sql } from './sql.ts';

interface SessionRow {
  sid: string;
  user: string;
  refresh_token: string | null;
  id_token: string | null;
  refresh_at: number;
  expires: number;
}

const SESSION_COLUMNS = 'sid, "user", refresh_token, id_token, refresh_at, expires';

/** Single sign-on identities and the IdP sessions behind sign-ins (control/sso). */
export class SqlSso implements SsoStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async user(issuer: string, subject: string): Promise<string | undefined> {
    return (await this.#sql.get<{ user: string }>('SELECT "user" FROM sso_identities WHERE issuer = ? AND subject = ?', issuer, subject))?.user;
  }

  async subjectOf(issuer: string, user: string): Promise<string | undefined> {
    return (await this.#sql.get<{ subject: string }>('SELECT subject FROM sso_identities WHERE issuer = ? AND "user" = ? ORDER BY subject LIMIT 1', issuer, user))?.subject;
  }

  async link(issuer: string, subject: string, user: string): Promise<string> {
    // The first link wins: two first sign-ins of one account at once make one user of it.
    await this.#sql.run('INSERT INTO sso_identities (issuer, subject, "user") VALUES (?, ?, ?) ON CONFLICT (issuer, subject) DO NOTHING', issuer, subject, user);
    return (await this.user(issuer, subject))!;
  }

  async saveSession(s: SsoSession): Promise<void> {
    await this.#sql.run(
      `INSERT INTO sso_sessions (${SESSION_COLUMNS}, claimed_until) VALUES (?, ?, ?, ?, ?, ?, 0)
       ON CONFLICT (sid) DO UPDATE SET "user" = excluded."user", refresh_token = excluded.refresh_token, id_token = excluded.id_token,
         refresh_at = excluded.refresh_at, expires = excluded.expires, claimed_until = 0`,
      s.sid, s.user, s.refreshToken, s.idToken, s.refreshAt, s.expires,
    );
  }

  async session(sid: string): Promise<SsoSession | undefined> {
    const r = await this.#sql.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sso_sessions WHERE sid = ?`, sid);
    return r && { sid: r.sid, user: r.user, refreshToken: r.refresh_token, idToken: r.id_token, refreshAt: Number(r.refresh_at), expires: Number(r.expires) };
  }

  async claimRefresh(sid: string, now: number, leaseMs: number): Promise<boolean> {
    // One statement: of several controls asking at once, one updates the row.
    return (await this.#sql.run('UPDATE sso_sessions SET claimed_until = ? WHERE sid = ? AND refresh_at <= ? AND claimed_until <= ?', now + leaseMs, sid, now, now)) > 0;
  }

  async endSession(sid: string): Promise<void> {
    await this.#sql.run('DELETE FROM sso_sessions WHERE sid = ?', sid);
  }

  async sweep(now: number): Promise<number> {
    return this.#sql.run('DELETE FROM sso_sessions WHERE expires <= ?', now);
  }
}

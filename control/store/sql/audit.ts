import type { AuditEntry, AuditFilter, AuditStore, AuditValue, Clock } from '../store.ts';
import { toJson, type Sql, type SqlValue } from './sql.ts';

interface AuditRow {
  seq: number;
  at: number;
  actor: string | null;
  actor_name: string | null;
  action: string;
  target: string | null;
  instance: string | null;
  project: string | null;
  detail: string;
}

const COLUMNS = 'seq, at, actor, actor_name, action, target, instance, project, detail';

/** The audit log: one insert per entry, read newest first by seq (the cursor). */
export class SqlAudit implements AuditStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async add(entry: Omit<AuditEntry, 'seq' | 'at'> & { at?: number }): Promise<AuditEntry> {
    const row = await this.#sql.get<AuditRow>(
      // An instance's entry takes its project from the instance, as it is when written.
      `INSERT INTO audit_log (at, actor, actor_name, action, target, instance, project, detail)
       VALUES (?, ?, ?, ?, ?, ?, COALESCE(?, (SELECT project FROM instances WHERE id = ?)), ?) RETURNING ${COLUMNS}`,
      entry.at ?? this.#clock(), entry.actor, entry.actorName, entry.action, entry.target, entry.instance, entry.project, entry.instance, toJson(entry.detail),
    );
    return fromRow(row!);
  }

  async list(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (clause: string, value: SqlValue | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('at >= ?', filter.since);
    add('at < ?', filter.until);
    add('actor_name = ?', filter.actorName);
    add('instance = ?', filter.instance);
    add('project = ?', filter.project);
    add('action = ?', filter.action);
    add('seq < ?', filter.before);
    const rows = await this.#sql.all<AuditRow>(
      `SELECT ${COLUMNS} FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
      ...params, filter.limit,
    );
    return rows.map(fromRow);
  }

  async sweep(before: number): Promise<number> {
    return this.#sql.run('DELETE FROM audit_log WHERE at < ?', before);
  }
}

function fromRow(r: AuditRow): AuditEntry {
  return {
    seq: Number(r.seq),
    at: Number(r.at),
    actor: r.actor,
    actorName: r.actor_name,
    action: r.action,
    target: r.target,
    instance: r.instance,
    project: r.project,
    detail: JSON.parse(r.detail) as Record<string, AuditValue>,
  };
}

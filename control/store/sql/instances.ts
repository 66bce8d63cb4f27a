import type { AppConfig } from '../../../protocol/app-config.ts';
import { isFinished, type InstanceStatus } from '../../../protocol/instance-status.ts';
import type { LaunchSpec } from '../../../protocol/launch-spec.ts';
import { ControlError } from '../../errors.ts';
import { newId } from '../random-id.ts';
import type { Clock, Endpoint, IdleState, Instance, InstanceFilter, InstanceStore, Reporter, Snapshot } from '../store.ts';
import { isUniqueViolation, toJson, type Dialect, type Sql } from './sql.ts';
import { INSTANCE_COLUMNS, applyStatus, readInstanceRow, toInstance, type InstanceRow } from './instance-rows.ts';
import { SNAPSHOT_COLUMNS, toSnapshot } from './snapshots.ts';
import { checkHolder, enqueue } from './jobs.ts';

const ID_ATTEMPTS = 5; // 36⁸ ids: a second collision in a row means something else is wrong

export class SqlInstances implements InstanceStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async changedSince(seq: number, limit = 1_000): Promise<{ ids: string[]; seq: number }> {
    if (seq === Infinity) {
      const newest = await this.#sql.get<{ seq: number | null }>('SELECT MAX(change_seq) AS seq FROM instances');
      return { ids: [], seq: Number(newest?.seq ?? 0) };
    }
    const rows = await this.#sql.all<{ id: string; change_seq: number }>('SELECT id, change_seq FROM instances WHERE change_seq > ? ORDER BY change_seq LIMIT ?', seq, limit);
    return { ids: rows.map((r) => r.id), seq: rows.length ? Number(rows.at(-1)!.change_seq) : seq };
  }

  async create(input: { owner: string; config: AppConfig; spec: LaunchSpec }): Promise<Instance> {
    const { owner, config, spec } = input;
    const now = this.#clock();
    for (let attempt = 1; ; attempt++) {
      const row: InstanceRow = {
        id: newId('i'), owner, app: config.app, name: config.name, project: config.project, tags: toJson(config.tags),
        queue: config.queue, config: toJson(config), spec: toJson(spec), status: 'queued', status_reason: null, agent: null,
        endpoint: null, restored_from: config.workspace.restoreFrom, created: now, updated: now, started: null, stopped: null,
        quiet_since: null,
      };
      try {
        await this.#sql.transaction(async (tx) => {
          if (!(await tx.get('SELECT 1 FROM users WHERE id = ?', owner))) throw new ControlError('CTL_NOT_FOUND', `no user with id "${owner}"`);
          await tx.run(`INSERT INTO instances (${INSTANCE_COLUMNS}) VALUES (${INSTANCE_COLUMNS.split(',').map(() => '?').join(', ')})`,
            row.id, row.owner, row.app, row.name, row.project, row.tags, row.queue, row.config, row.spec, row.status,
            row.status_reason, row.agent, row.endpoint, row.restored_from, row.created, row.updated, row.started, row.stopped,
            row.quiet_since);
          await enqueue(tx, row.id, row.queue, now);
        });
        return toInstance(row);
      } catch (err) {
        if (!isUniqueViolation(err) || attempt === ID_ATTEMPTS) throw err;
      }
    }
  }

  async get(id: string, options: { removed?: boolean } = {}): Promise<Instance | undefined> {
    const row = await this.#sql.get<InstanceRow>(`SELECT ${INSTANCE_COLUMNS} FROM instances WHERE id = ?${options.removed ? '' : ' AND removed IS NULL'}`, id);
    return row && toInstance(row);
  }

  async list(filter: InstanceFilter = {}): Promise<Instance[]> {
    const where = whereOf(filter, this.#sql.dialect);
    if (!where) return [];
    const limit = filter.limit === undefined ? '' : ' LIMIT ?';
    if (filter.limit !== undefined) where.params.push(filter.limit);
    const sql = `SELECT ${INSTANCE_COLUMNS} FROM instances WHERE ${where.sql} ORDER BY created DESC, id DESC${limit}`;
    return (await this.#sql.all<InstanceRow>(sql, ...where.params)).map(toInstance);
  }

  async count(filter: InstanceFilter = {}): Promise<number> {
    const where = whereOf(filter, this.#sql.dialect);
    if (!where) return 0;
    return (await this.#sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM instances WHERE ${where.sql}`, ...where.params))!.n;
  }

  async remove(id: string, options: { snapshots?: boolean } = {}): Promise<{ snapshots: Snapshot[] }> {
    return this.#sql.transaction(async (tx) => {
      // A removed instance whose snapshots were kept can be removed again, with them.
      const row = await readInstanceRow(tx, id, { removed: options.snapshots });
      if (!isFinished(row.status)) {
        throw new ControlError('CTL_ILLEGAL_TRANSITION', `instance ${id} is ${row.status}: only a stopped or failed instance can be removed; stop it first (wharf stop ${id})`);
      }
      const removed = options.snapshots
        ? (await tx.all<Snapshot>(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE instance = ? ORDER BY created DESC, id DESC`, id)).map(toSnapshot)
        : [];
      if (options.snapshots) await tx.run('DELETE FROM snapshots WHERE instance = ?', id);
      if (await tx.get('SELECT 1 FROM snapshots WHERE instance = ? LIMIT 1', id)) {
        // Snapshots name it: the row stays, hidden, for restoring and cloning from them.
        await tx.run('UPDATE instances SET removed = ?, endpoint = NULL, gateway_port = NULL WHERE id = ?', this.#clock(), id);
        await tx.run('DELETE FROM console_lines WHERE instance = ?', id);
      } else {
        // Its console lines and (none left, it being finished) launch job go with it (ON DELETE CASCADE).
        await tx.run('DELETE FROM instances WHERE id = ?', id);
      }
      return { snapshots: removed };
    });
  }

  async updateStatus(id: string, to: InstanceStatus, reason: string | null, by?: Reporter): Promise<Instance> {
    if (to === 'failed' && !reason) throw new ControlError('CTL_REASON_REQUIRED', `instance ${id} cannot fail without a reason`);
    const now = this.#clock();
    // Row locks (the instance's first): agents report many instances at once, and SERIALIZABLE
    // made sixteen such reports abort each other over the jobs table until some gave up.
    return this.#sql.transaction(async (tx) => {
      const row = await readInstanceRow(tx, id, { forUpdate: true });
      if (by) await checkHolder(tx, by.agent, id, now, by.epoch);
      return applyStatus(tx, row, { to, reason, now });
    }, { rowLocks: true });
  }

  async setEndpoint(id: string, endpoint: Endpoint | null, by?: Reporter): Promise<Instance> {
    const now = this.#clock();
    return this.#sql.transaction(async (tx) => {
      const row = await readInstanceRow(tx, id, { forUpdate: true });
      if (by) await checkHolder(tx, by.agent, id, now, by.epoch);
      if (endpoint !== null && (row.status === 'queued' || isFinished(row.status))) {
        throw new ControlError('CTL_INVALID', `instance ${id} is ${row.status}: an endpoint is accepted only while it starts or runs`);
      }
      const next: InstanceRow = { ...row, endpoint: endpoint === null ? null : toJson(endpoint), updated: now };
      const gatewayPort = typeof endpoint?.gatewayPort === 'number' ? endpoint.gatewayPort : null;
      try {
        await tx.run('UPDATE instances SET endpoint = ?, gateway_port = ?, updated = ? WHERE id = ?', next.endpoint, gatewayPort, now, id);
      } catch (err) {
        if (isUniqueViolation(err)) throw new ControlError('CTL_TCP_PORT_TAKEN', `gateway port ${gatewayPort} is pinned to another instance`);
        throw err;
      }
      return toInstance(next);
    }, { rowLocks: true });
  }

  async setStatusReason(id: string, reason: string | null, expect?: { status: InstanceStatus; reason: string | null }): Promise<boolean> {
    return this.#sql.transaction(async (tx) => {
      const row = await readInstanceRow(tx, id);
      if (expect && (row.status !== expect.status || row.status_reason !== expect.reason)) return false;
      await tx.run('UPDATE instances SET status_reason = ?, updated = ? WHERE id = ?', reason, this.#clock(), id);
      return true;
    });
  }

  async idleStates(): Promise<IdleState[]> {
    return (await this.#sql.all<{ id: string; status: InstanceStatus; status_reason: string | null; quiet_since: number | null }>(
      "SELECT id, status, status_reason, quiet_since FROM instances WHERE status IN ('active', 'idle')",
    )).map((r) => ({ id: r.id, status: r.status, statusReason: r.status_reason, quietSince: r.quiet_since }));
  }

  async routableIds(): Promise<string[]> {
    return (await this.#sql.all<{ id: string }>(
      "SELECT id FROM instances WHERE status NOT IN ('queued', 'stopped', 'failed') AND endpoint IS NOT NULL",
    )).map((r) => r.id);
  }

  async setQuietSince(id: string, since: number | null): Promise<void> {
    if ((await this.#sql.run('UPDATE instances SET quiet_since = ? WHERE id = ?', since, id)) === 0) {
      throw new ControlError('CTL_NOT_FOUND', `no instance with id "${id}"`);
    }
  }
}

/** The WHERE clause of a filter (removed instances never match); undefined when it matches nothing. */
function whereOf(filter: InstanceFilter, dialect: Dialect): { sql: string; params: (string | number)[] } | undefined {
  const where: string[] = ['removed IS NULL'];
  const params: (string | number)[] = [];
  if (filter.status !== undefined) {
    const statuses: InstanceStatus[] = Array.isArray(filter.status) ? filter.status : [filter.status];
    if (statuses.length === 0) return undefined;
    where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  for (const column of ['project', 'queue', 'owner', 'agent'] as const) {
    const value = filter[column];
    if (value !== undefined) {
      where.push(`${column} = ?`);
      params.push(value);
    }
  }
  if (filter.visibleTo !== undefined) {
    where.push('(owner = ? OR id IN (SELECT instance FROM instance_shares WHERE "user" = ?) OR project IN (SELECT project FROM project_members WHERE "user" = ?))');
    params.push(filter.visibleTo, filter.visibleTo, filter.visibleTo);
  }
  if (filter.tag !== undefined) {
    where.push(dialect === 'postgres'
      ? 'EXISTS (SELECT 1 FROM json_array_elements_text(instances.tags::json) AS tag(value) WHERE tag.value = ?)'
      : 'EXISTS (SELECT 1 FROM json_each(instances.tags) WHERE json_each.value = ?)');
    params.push(filter.tag);
  }
  return { sql: where.join(' AND '), params };
}

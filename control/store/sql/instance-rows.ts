import type { AppConfig, AppKind } from '../../../protocol/app-config.ts';
import { IllegalTransitionError, isFinished, transition, type InstanceStatus } from '../../../protocol/instance-status.ts';
import type { LaunchSpec } from '../../../protocol/launch-spec.ts';
import { ControlError } from '../../errors.ts';
import type { Endpoint, Instance } from '../store.ts';
import { forUpdate, fromJson, type Sql } from './sql.ts';

/* The instances table's rows, and the one place that writes a status change. */

export interface InstanceRow {
  id: string;
  owner: string;
  app: AppKind;
  name: string;
  project: string;
  tags: string;
  queue: string;
  config: string;
  spec: string;
  status: InstanceStatus;
  status_reason: string | null;
  agent: string | null;
  endpoint: string | null;
  restored_from: string | null;
  created: number;
  updated: number;
  started: number | null;
  stopped: number | null;
  quiet_since: number | null;
}

export const INSTANCE_COLUMNS = 'id, owner, app, name, project, tags, queue, config, spec, status, status_reason, agent, ' +
  'endpoint, restored_from, created, updated, started, stopped, quiet_since';

export function toInstance(row: InstanceRow): Instance {
  return {
    id: row.id, owner: row.owner, app: row.app, name: row.name, project: row.project,
    tags: fromJson<string[]>(row.tags) ?? [], queue: row.queue,
    config: fromJson<AppConfig>(row.config)!, spec: fromJson<LaunchSpec>(row.spec)!,
    status: row.status, statusReason: row.status_reason, agent: row.agent, endpoint: fromJson<Endpoint>(row.endpoint),
    restoredFrom: row.restored_from, created: row.created, updated: row.updated, started: row.started, stopped: row.stopped,
    quietSince: row.quiet_since,
  };
}

/** The row of an instance; CTL_NOT_FOUND when there is none, or it was removed (unless `removed`). */
/** The row of instance `id`; `forUpdate`: locked until the transaction ends (a `rowLocks` transaction's first read). */
export async function readInstanceRow(db: Sql, id: string, options: { removed?: boolean; forUpdate?: boolean } = {}): Promise<InstanceRow> {
  const row = await db.get<InstanceRow>(`SELECT ${INSTANCE_COLUMNS} FROM instances WHERE id = ?${options.removed ? '' : ' AND removed IS NULL'}${options.forUpdate ? forUpdate(db) : ''}`, id);
  if (!row) throw new ControlError('CTL_NOT_FOUND', `no instance with id "${id}"`);
  return row;
}

export interface StatusChange {
  to: InstanceStatus;
  reason: string | null;
  now: number;
  /** Set by the job queue, the only caller allowed to move between queued and starting. */
  byQueue?: { agent: string | null };
}

/**
 * Writes a status change after checking it against the status table; call inside a
 * transaction that read `row`. Keeps the rest of the row in step: the agent while it
 * starts, the launch job while queued or starting, the times, the endpoint.
 */
export async function applyStatus(db: Sql, row: InstanceRow, change: StatusChange): Promise<Instance> {
  const { to, reason, now, byQueue } = change;
  const from = row.status;
  transition(from, to);
  const queueStep = (from === 'queued' && to === 'starting') || (from === 'starting' && to === 'queued');
  if (queueStep && !byQueue) {
    throw new IllegalTransitionError(from, to, 'this change happens only when an agent leases the job or its lease expires');
  }
  const next: InstanceRow = { ...row, status: to, status_reason: reason, updated: now };
  if (byQueue) next.agent = byQueue.agent;
  if (to === 'queued') next.endpoint = null;
  if (to === 'active' && next.started === null) next.started = now;
  if (isFinished(to)) {
    next.stopped = now;
    next.endpoint = null;
  }
  // Without an endpoint the instance holds no gateway port any more: another may take it.
  await db.run(`UPDATE instances SET status = ?, status_reason = ?, updated = ?, agent = ?, endpoint = ?, started = ?, stopped = ?${next.endpoint === null ? ', gateway_port = NULL' : ''} WHERE id = ?`,
    next.status, next.status_reason, next.updated, next.agent, next.endpoint, next.started, next.stopped, row.id);
  // The launch job lives while the instance is queued or starting; any other status ends it.
  if (to !== 'queued' && to !== 'starting') await db.run('DELETE FROM jobs WHERE instance = ?', row.id);
  return toInstance(next);
}

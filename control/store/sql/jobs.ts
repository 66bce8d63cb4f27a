import { ControlError } from '../../errors.ts';
import type { Job, JobStore, QueueDepth } from '../store.ts';
import type { Sql } from './sql.ts';
import { applyStatus, readInstanceRow } from './instance-rows.ts';

/*
 * Launch jobs, FIFO per queue by enqueue sequence. A job is leased to one agent until
 * `lease_expires`; the agent's heartbeat renews it. A lease that ran out is dead at once
 * (reports under it are refused, renewing skips it) and `expire` puts the job back at its
 * old place in the queue, so a job is neither lost nor run twice.
 */

interface JobRow {
  seq: number;
  instance: string;
  queue: string;
  state: 'queued' | 'leased';
  agent: string | null;
  lease_expires: number | null;
  attempts: number;
  enqueued: number;
}

const COLUMNS = 'seq, instance, queue, state, agent, lease_expires, attempts, enqueued';

function toJob(row: JobRow): Job {
  return {
    seq: row.seq, instance: row.instance, queue: row.queue, state: row.state, agent: row.agent,
    leaseExpires: row.lease_expires, attempts: row.attempts, enqueued: row.enqueued,
  };
}

/** Puts a new launch job at the back of its queue; inside the transaction that created the instance. */
export async function enqueue(db: Sql, instance: string, queue: string, now: number): Promise<void> {
  await db.run("INSERT INTO jobs (instance, queue, state, enqueued) VALUES (?, ?, 'queued', ?)", instance, queue, now);
}

/**
 * Throws CTL_LEASE_EXPIRED unless `agentId` holds the instance: while a launch job exists,
 * a live lease of that agent; once the job is done, the instance's own agent.
 */
export async function checkHolder(db: Sql, agentId: string, instanceId: string, now: number, epoch?: number): Promise<void> {
  const instance = await readInstanceRow(db, instanceId);
  const job = await db.get<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE instance = ?`, instanceId);
  if (job) {
    if (job.state === 'queued') throw refused(`instance ${instanceId} is waiting in queue "${job.queue}" again: its lease expired`);
    if (job.agent !== agentId) throw refused(`instance ${instanceId} is leased to another agent`);
    if (job.lease_expires! <= now) throw refused(`the lease on instance ${instanceId} expired ${now - job.lease_expires!} ms ago`);
    if (epoch !== undefined && epoch !== job.attempts) throw refused(`instance ${instanceId} is under lease ${job.attempts}; this report is of lease ${epoch}, which expired`);
  } else if (instance.agent !== agentId) {
    throw refused(`instance ${instanceId} is ${instance.agent ? 'held by another agent' : `not held by any agent (it is ${instance.status})`}`);
  }
}

function refused(detail: string): ControlError {
  return new ControlError('CTL_LEASE_EXPIRED', detail);
}

export class SqlJobs implements JobStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async lease(agentId: string, queues: string[], leaseMs: number, now: number): Promise<Job | undefined> {
    if (!(leaseMs > 0)) throw new RangeError('leaseMs must be above 0');
    return this.#sql.transaction(async (tx) => {
      const agent = await tx.get<{ drain: number }>('SELECT drain FROM agents WHERE id = ?', agentId);
      if (!agent) throw new ControlError('CTL_NOT_FOUND', `no agent with id "${agentId}"`);
      if (agent.drain === 1) return undefined;
      for (const queue of queues) {
        // PostgreSQL: another control's lease in flight holds its row; take the next one instead of waiting.
        const row = await tx.get<JobRow>(
          `SELECT ${COLUMNS} FROM jobs WHERE queue = ? AND state = 'queued' ORDER BY seq LIMIT 1${tx.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''}`, queue);
        if (!row) continue;
        const leased: JobRow = { ...row, state: 'leased', agent: agentId, lease_expires: now + leaseMs, attempts: row.attempts + 1 };
        await tx.run("UPDATE jobs SET state = 'leased', agent = ?, lease_expires = ?, attempts = ? WHERE seq = ?",
          agentId, leased.lease_expires, leased.attempts, row.seq);
        await applyStatus(tx, await readInstanceRow(tx, row.instance, { forUpdate: true }), { to: 'starting', reason: null, now, byQueue: { agent: agentId } });
        return toJob(leased);
      }
      return undefined;
    }, { rowLocks: true }); // the queue's classic shape: FOR UPDATE SKIP LOCKED under READ COMMITTED
  }

  async renew(agentId: string, now: number, leaseMs: number, instances?: readonly string[]): Promise<number> {
    if (!(leaseMs > 0)) throw new RangeError('leaseMs must be above 0');
    const renew = "UPDATE jobs SET lease_expires = ? WHERE agent = ? AND state = 'leased' AND lease_expires > ?";
    if (!instances) return this.#sql.run(renew, now + leaseMs, agentId, now);
    // The agent's leases are few (those still launching): one look, then only those it named.
    const named = new Set(instances);
    const held = (await this.#sql.all<{ instance: string }>("SELECT instance FROM jobs WHERE agent = ? AND state = 'leased' AND lease_expires > ?", agentId, now))
      .map((r) => r.instance).filter((id) => named.has(id));
    let renewed = 0;
    for (const id of held) renewed += await this.#sql.run(`${renew} AND instance = ?`, now + leaseMs, agentId, now, id);
    return renewed;
  }

  async expire(now: number): Promise<Job[]> {
    return this.#sql.transaction(async (tx) => {
      const rows = await tx.all<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE state = 'leased' AND lease_expires <= ? ORDER BY seq`, now);
      for (const row of rows) {
        await tx.run("UPDATE jobs SET state = 'queued', agent = NULL, lease_expires = NULL WHERE seq = ?", row.seq);
        await applyStatus(tx, await readInstanceRow(tx, row.instance), {
          to: 'queued', reason: `the lease of agent ${row.agent} expired (agent lost); waiting for another agent`, now, byQueue: { agent: null },
        });
      }
      return rows.map(toJob);
    });
  }

  async assertHolder(agentId: string, instanceId: string, now: number, epoch?: number): Promise<void> {
    await checkHolder(this.#sql, agentId, instanceId, now, epoch);
  }

  async get(instanceId: string): Promise<Job | undefined> {
    const row = await this.#sql.get<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE instance = ?`, instanceId);
    return row && toJob(row);
  }

  async depths(): Promise<QueueDepth[]> {
    return (await this.#sql.all<QueueDepth>(
      "SELECT queue, COUNT(*) FILTER (WHERE state = 'queued') AS queued, COUNT(*) FILTER (WHERE state = 'leased') AS leased FROM jobs GROUP BY queue ORDER BY queue",
    )).map((r) => ({ queue: r.queue, queued: r.queued, leased: r.leased }));
  }
}

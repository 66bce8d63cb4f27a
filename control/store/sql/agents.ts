import { hashSecret, newSecret, secretMatches } from '../api-tokens.ts';
import { ControlError } from '../../errors.ts';
import { newId, randomString } from '../random-id.ts';
import type { Agent, AgentState, AgentStore, Clock } from '../store.ts';
import { fromJson, toJson, type Sql } from './sql.ts';

interface AgentRow {
  id: string;
  name: string;
  key: string;
  queues: string;
  state: AgentState;
  last_seen: number | null;
  drain: number;
  resources: string | null;
  created: number;
}

const COLUMNS = 'id, name, key, queues, state, last_seen, drain, resources, created';

function toAgent(row: AgentRow): Agent {
  return {
    id: row.id, name: row.name, key: row.key, queues: fromJson<string[]>(row.queues) ?? [], state: row.state,
    lastSeen: row.last_seen, drain: row.drain === 1, resources: fromJson(row.resources), created: row.created,
  };
}

export class SqlAgents implements AgentStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async add(input: { name: string; queues?: string[] }): Promise<{ agent: Agent; secret: string }> {
    const secret = newSecret();
    const row: AgentRow = {
      id: newId('a'), name: input.name, key: `ak${randomString(14)}`, queues: toJson(input.queues ?? []), state: 'new',
      last_seen: null, drain: 0, resources: null, created: this.#clock(),
    };
    await this.#sql.run('INSERT INTO agents (id, name, key, secret_hash, queues, created) VALUES (?, ?, ?, ?, ?, ?)',
      row.id, row.name, row.key, hashSecret(secret), row.queues, row.created);
    return { agent: toAgent(row), secret };
  }

  async verify(key: string, secret: string): Promise<Agent | undefined> {
    const row = await this.#sql.get<AgentRow & { secret_hash: string }>(`SELECT ${COLUMNS}, secret_hash FROM agents WHERE key = ?`, key);
    return row && secretMatches(secret, row.secret_hash) ? toAgent(row) : undefined;
  }

  async get(id: string): Promise<Agent | undefined> {
    const row = await this.#sql.get<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = ?`, id);
    return row && toAgent(row);
  }

  async list(): Promise<Agent[]> {
    return (await this.#sql.all<AgentRow>(`SELECT ${COLUMNS} FROM agents ORDER BY name, id`)).map(toAgent);
  }

  async heartbeat(id: string, report: { queues?: string[]; resources?: unknown } = {}): Promise<Agent> {
    return this.#sql.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE agents SET last_seen = ?, state = 'online', queues = COALESCE(?, queues), resources = COALESCE(?, resources) WHERE id = ?`,
        this.#clock(), report.queues ? toJson(report.queues) : null, report.resources === undefined ? null : toJson(report.resources), id);
      if (changed === 0) throw notFound(id);
      return toAgent((await tx.get<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = ?`, id))!);
    });
  }

  async setState(id: string, state: AgentState): Promise<void> {
    if (await this.#sql.run('UPDATE agents SET state = ? WHERE id = ?', state, id) === 0) throw notFound(id);
  }

  async setDrain(id: string, drain: boolean): Promise<void> {
    if (await this.#sql.run('UPDATE agents SET drain = ? WHERE id = ?', drain ? 1 : 0, id) === 0) throw notFound(id);
  }
}

function notFound(id: string): ControlError {
  return new ControlError('CTL_NOT_FOUND', `no agent with id "${id}"`);
}

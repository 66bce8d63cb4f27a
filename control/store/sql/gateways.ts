import { GATEWAY_KEY_PREFIX, createCredential, parseCredential, secretMatches } from '../api-tokens.ts';
import type { Clock, Gateway, GatewayStore } from '../store.ts';
import type { Sql } from './sql.ts';

interface GatewayRow {
  id: string;
  name: string;
  created: number;
}

function toGateway(row: GatewayRow): Gateway {
  return { id: row.id, name: row.name, created: row.created };
}

export class SqlGateways implements GatewayStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async add(name: string): Promise<{ gateway: Gateway; key: string }> {
    const credential = createCredential(GATEWAY_KEY_PREFIX);
    const gateway: Gateway = { id: credential.id, name, created: this.#clock() };
    await this.#sql.run('INSERT INTO gateways (id, name, key_hash, created) VALUES (?, ?, ?, ?)', gateway.id, name, credential.hash, gateway.created);
    return { gateway, key: credential.token };
  }

  async verify(key: string): Promise<Gateway | undefined> {
    const parsed = parseCredential(key, GATEWAY_KEY_PREFIX);
    if (!parsed) return undefined;
    const row = await this.#sql.get<GatewayRow & { key_hash: string }>('SELECT id, name, created, key_hash FROM gateways WHERE id = ?', parsed.id);
    return row && secretMatches(parsed.secret, row.key_hash) ? toGateway(row) : undefined;
  }

  async list(): Promise<Gateway[]> {
    return (await this.#sql.all<GatewayRow>('SELECT id, name, created FROM gateways ORDER BY name, id')).map(toGateway);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.#sql.run('DELETE FROM gateways WHERE id = ?', id)) > 0;
  }
}

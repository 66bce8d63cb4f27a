import type { Route } from '../../../protocol/route.ts';
import { canonicalJson } from '../../routes/route-log.ts';
import type { RouteTableChange, RouteTableStore } from '../store.ts';
import { forUpdate, type Sql } from './sql.ts';

/** Changes kept for resuming gateways, as many as a control's route log keeps (route-log.ts). */
export const KEPT_CHANGES = 10_000;
/** Ids per statement when reading many routes at once (under both databases' parameter limits). */
const CHUNK = 500;

export class SqlRouteTable implements RouteTableStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  read(): Promise<{ epoch: string; version: number; routes: Route[] }> {
    return this.#sql.transaction(async (tx) => {
      const head = await this.#head(tx);
      const rows = await tx.all<{ route: string }>('SELECT route FROM route_table ORDER BY id');
      return { ...head, routes: rows.map((r) => JSON.parse(r.route) as Route) };
    });
  }

  async since(version: number, limit = 1_000): Promise<RouteTableChange[] | undefined> {
    const head = await this.#head(this.#sql);
    if (version === head.version) return [];
    if (version > head.version) return undefined;
    const rows = await this.#sql.all<{ version: number | string; upsert: string; remove: string }>(
      'SELECT version, upsert, remove FROM route_changes WHERE version > ? ORDER BY version LIMIT ?', version, limit);
    if (Number(rows[0]?.version) !== version + 1) return undefined;
    return rows.map((r) => ({ version: Number(r.version), upsert: JSON.parse(r.upsert) as Route[], remove: JSON.parse(r.remove) as string[] }));
  }

  apply(change: { upsert?: readonly Route[]; remove?: readonly string[] }, options: { ifVersion?: number } = {}): Promise<number | 'unchanged' | 'moved'> {
    // READ COMMITTED with the counter's row locked: writers take turns, and each reads the
    // table as the one before it committed it, so versions are consecutive and in commit order.
    return this.#sql.transaction(async (tx) => {
      const head = await tx.get<{ version: number | string }>(`SELECT version FROM route_version WHERE id = 1${forUpdate(tx)}`);
      const current = Number(head!.version);
      if (options.ifVersion !== undefined && options.ifVersion !== current) return 'moved';
      const upserts = new Map<string, { route: Route; text: string }>();
      for (const route of change.upsert ?? []) upserts.set(route.id, { route, text: canonicalJson(route) });
      const named = [...new Set([...upserts.keys(), ...(change.remove ?? [])])];
      const stored = new Map<string, string>();
      for (let i = 0; i < named.length; i += CHUNK) {
        const ids = named.slice(i, i + CHUNK);
        const rows = await tx.all<{ id: string; route: string }>(`SELECT id, route FROM route_table WHERE id IN (${ids.map(() => '?').join(', ')})`, ...ids);
        for (const row of rows) stored.set(row.id, row.route);
      }
      // An upsert equal to what is stored is no change; its id is still not removed.
      const kept = new Set<string>();
      for (const [id, u] of upserts) if (stored.get(id) === u.text) (upserts.delete(id), kept.add(id));
      const removes = [...new Set(change.remove ?? [])].filter((id) => stored.has(id) && !upserts.has(id) && !kept.has(id));
      if (upserts.size === 0 && removes.length === 0) return 'unchanged';
      const version = current + 1;
      for (const id of removes) await tx.run('DELETE FROM route_table WHERE id = ?', id);
      for (const [id, u] of upserts) {
        await tx.run('INSERT INTO route_table (id, route) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET route = excluded.route', id, u.text);
      }
      const upsert = [...upserts.values()].map((u) => u.route);
      await tx.run('INSERT INTO route_changes (version, upsert, remove) VALUES (?, ?, ?)', version, JSON.stringify(upsert), JSON.stringify(removes));
      await tx.run('UPDATE route_version SET version = ? WHERE id = 1', version);
      if (version % 100 === 0) await tx.run('DELETE FROM route_changes WHERE version <= ?', version - KEPT_CHANGES);
      return version;
    }, { rowLocks: true });
  }

  async #head(sql: Sql): Promise<{ epoch: string; version: number }> {
    const row = await sql.get<{ version: number | string; epoch: string }>('SELECT version, epoch FROM route_version WHERE id = 1');
    return { epoch: row!.epoch, version: Number(row!.version) };
  }
}

import { ControlError } from '../errors.ts';
import type { Sql, SqlValue } from './sql/sql.ts';

/*
 * `wharf store copy`: every row of one store into another, e.g. an embedded SQLite install
 * into PostgreSQL. Row by row rather than through the store's interface, since that never
 * hands out what must move as it is (password and key hashes, lease epochs, sequences).
 * Both ends are migrated to this Wharf's schema first, so their columns match; a column one
 * has and the other lacks is refused by name rather than dropped.
 */

/** Every table, parents before children (foreign keys), with its primary key: the copy's order and paging. */
export const TABLES = [
  { name: 'users', key: ['id'] },
  { name: 'api_tokens', key: ['id'] },
  { name: 'agents', key: ['id'] },
  { name: 'gateways', key: ['id'] },
  { name: 'projects', key: ['name'] },
  { name: 'project_members', key: ['project', 'user'] },
  { name: 'instances', key: ['id'] },
  { name: 'jobs', key: ['seq'] },
  { name: 'snapshots', key: ['id'] },
  { name: 'instance_shares', key: ['instance', 'user'] },
  { name: 'console_lines', key: ['instance', 'seq'] },
  { name: 'session_revocations', key: ['user', 'instance'] },
  { name: 'used_links', key: ['jti'] },
  { name: 'signed_out', key: ['sid'] },
  { name: 'signin_failures', key: ['kind', 'key'] },
  { name: 'metrics_points', key: ['instance', 'resolution', 't'] },
  { name: 'shared_keys', key: ['name'] },
  { name: 'signing_keys', key: ['kid'] },
  { name: 'audit_log', key: ['seq'] },
  { name: 'sso_identities', key: ['issuer', 'subject'] },
  { name: 'sso_sessions', key: ['sid'] },
] as const;

/**
 * Tables left behind: the shared route table is rebuilt from the instances by the first control
 * on the target (control/routes/shared-route-log.ts), under a history (epoch) of its own.
 */
export const NOT_COPIED = ['route_version', 'route_table', 'route_changes'] as const;

export type TableName = (typeof TABLES)[number]['name'];

/** Rows read and written per statement: 500 rows of the widest table stay far below PostgreSQL's 65,535 parameters. */
const PAGE = 500;

export interface CopyOptions {
  /** Empty a target that holds rows first; without it such a target is refused. */
  replace?: boolean;
  /** Told after each table, with the rows it copied. */
  progress?: (table: TableName, rows: number) => void;
}

/**
 * Copies every row of `from` into `to`, in one transaction on each: the copy is of one
 * moment of the source (whose writers wait meanwhile), and a copy that fails leaves the
 * target as it was. Returns the rows copied per table. Throws CTL_STORE_NOT_EMPTY when the
 * target holds rows and `replace` is not set.
 */
export async function copyStore(source: Sql, to: Sql, options: CopyOptions = {}): Promise<Record<TableName, number>> {
  return source.transaction((from) => to.transaction(async (tx) => {
    const held = await rowCounts(tx);
    const nonEmpty = Object.entries(held).filter(([, n]) => n > 0);
    if (nonEmpty.length > 0) {
      if (!options.replace) {
        throw new ControlError('CTL_STORE_NOT_EMPTY', `the target store holds ${nonEmpty.map(([t, n]) => `${n} ${t}`).join(', ')}; pass --replace to replace what it holds`);
      }
      for (const table of [...TABLES].reverse()) await tx.run(`DELETE FROM ${table.name}`);
    }
    const copied = {} as Record<TableName, number>;
    for (const table of TABLES) {
      const columns = await columnsOf(from, table.name);
      const targetColumns = new Set(await columnsOf(tx, table.name));
      const missing = columns.filter((c) => !targetColumns.has(c));
      if (missing.length > 0 || targetColumns.size !== columns.length) {
        throw new ControlError('CTL_INVALID', `table ${table.name} has columns ${columns.join(', ')} in the source and ${[...targetColumns].join(', ')} in the target; copy between stores of the same Wharf version`);
      }
      const list = columns.map(quote).join(', ');
      const order = table.key.map(quote).join(', ');
      let rows = 0;
      for (let offset = 0; ; offset += PAGE) {
        const page = await from.all<Record<string, SqlValue>>(`SELECT ${list} FROM ${table.name} ORDER BY ${order} LIMIT ? OFFSET ?`, PAGE, offset);
        if (page.length === 0) break;
        const row = `(${columns.map(() => '?').join(', ')})`;
        await tx.run(`INSERT INTO ${table.name} (${list}) VALUES ${page.map(() => row).join(', ')}`, ...page.flatMap((r) => columns.map((c) => r[c])));
        rows += page.length;
        if (page.length < PAGE) break;
      }
      copied[table.name] = rows;
      options.progress?.(table.name, rows);
    }
    // PostgreSQL's identity does not move with rows inserted with their own seq: the next job or audit entry must come after them.
    if (tx.dialect === 'postgres') {
      for (const table of ['jobs', 'audit_log']) {
        await tx.run(`SELECT setval(pg_get_serial_sequence('${table}', 'seq'), COALESCE((SELECT MAX(seq) FROM ${table}), 0) + 1, false)`);
      }
    }
    return copied;
  }));
}

/** Rows per table. */
export async function rowCounts(sql: Sql): Promise<Record<TableName, number>> {
  const counts = {} as Record<TableName, number>;
  for (const table of TABLES) counts[table.name] = (await sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table.name}`))!.n;
  return counts;
}

/** The table's columns, in their order. */
export async function columnsOf(sql: Sql, table: TableName): Promise<string[]> {
  const rows = sql.dialect === 'postgres'
    ? await sql.all<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position', table)
    : await sql.all<{ name: string }>('SELECT name FROM pragma_table_info(?) ORDER BY cid', table);
  return rows.map((r) => r.name);
}

/** "user" is a reserved word in PostgreSQL; quoting every column keeps one rule. */
function quote(column: string): string {
  return `"${column}"`;
}

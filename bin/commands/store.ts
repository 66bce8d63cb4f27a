import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { copyStore, type TableName } from '../../control/store/copy.ts';
import { describeStore, openSql, parseStoreLocation, sqliteFile, type StoreLocation } from '../../control/store/location.ts';
import { wharfHome } from '../../protocol/home.ts';
import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';

export const storeHelp = `wharf store copy --to STORE [--from STORE] [--replace] [--json]

  copy   copies every row of one store into another, e.g. the embedded SQLite install into
         PostgreSQL: users (with their password hashes), API tokens, agents, gateways,
         instances, launch jobs, snapshots' records, console lines, app session revocations,
         used one-time links. Stop control first: the source's writers wait for the copy.
         A target that holds anything is refused unless --replace is given.

  --from STORE   sqlite: (WHARF_HOME/wharf.db, the default), sqlite:PATH or postgres://…
  --to STORE     the same forms; postgres://USER:PASSWORD@HOST:PORT/DATABASE
  --replace      empty the target first (in the same transaction as the copy)

Snapshot blobs (WHARF_HOME/snapshots) and keys (WHARF_HOME/keys) are files, not rows: a control
on the copy reads them from its WHARF_HOME. docs/store.md has the whole move.`;

export async function runStore(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'copy') throw new UsageError(sub ? `unknown subcommand "store ${sub}": use copy` : 'wharf store needs a subcommand: copy');
  const { values, positionals: given } = parseCommand(rest, {
    from: { type: 'string' }, to: { type: 'string' }, replace: { type: 'boolean' }, json: { type: 'boolean' },
  });
  positionals(given, [], 'wharf store copy --to STORE [--from STORE] [--replace]');
  if (!values.to) throw new UsageError('--to is missing: wharf store copy --to postgres://USER:PASSWORD@HOST:PORT/DATABASE');
  const home = wharfHome();
  const from = location('--from', values.from ?? 'sqlite:');
  const to = location('--to', values.to);
  const fromName = describeStore(from, home);
  const toName = describeStore(to, home);
  if (fromName === toName) throw new UsageError(`--from and --to are the same store (${fromName})`);

  // Opening a SQLite file that is not there would make an empty store and copy nothing from it.
  if (from?.kind !== 'postgres' && !existsSync(sqliteFile(from, home))) {
    throw new UsageError(`--from ${fromName}: no such database file; give the sqlite:PATH of the install to copy (its WHARF_HOME/wharf.db)`);
  }
  const log = pino({ level: 'warn' }, process.stderr);
  const options = { home, clock: Date.now, log };
  const source = await openSql(from, options);
  try {
    const target = await openSql(to, options);
    try {
      process.stderr.write(`copying ${fromName} → ${toName}\n`);
      const copied = await copyStore(source.sql, target.sql, {
        replace: values.replace,
        progress: (table: TableName, rows: number) => process.stderr.write(`  ${table}: ${rows} row${rows === 1 ? '' : 's'}\n`),
      });
      if (values.json) console.log(JSON.stringify({ from: fromName, to: toName, rows: copied }, null, 2));
      else console.log(`copied ${Object.values(copied).reduce((a, b) => a + b, 0)} rows to ${toName}`);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

function location(flag: string, raw: string): StoreLocation {
  try {
    return parseStoreLocation(raw);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

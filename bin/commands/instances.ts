import { readFileSync } from 'node:fs';
import { isInstanceStatus, STATUS_LABELS } from '../../protocol/instance-status.ts';
import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

/*
 * The instance commands of DESIGN.md ("CLI"): launch, ls, show, stop, rm, export, clone, token,
 * open. `--json` prints the API's JSON; export and clone print the config JSON; errors are one
 * line (bin/wharf.ts prints them). Statuses read by people use the dashboard's words
 * (STATUS_LABELS: "setting up", not "starting"); `--json` keeps the API's values.
 */

interface InstanceView {
  id: string;
  name: string;
  app: string;
  status: string;
  statusReason: string | null;
  project: string;
  owner: string;
  created: string;
  idleSeconds: number | null;
  restoredFrom: string | null;
  links: Record<string, string | null>;
  config?: { routing?: { mode?: string } };
}

/** A status in the dashboard's words; an unknown one as it is. */
export function statusWords(status: string): string {
  return isInstanceStatus(status) ? STATUS_LABELS[status] : status;
}

interface TokenAnswer { token: string; expiresAt: string; link: string; endpoint: string | null }

const ENV_NOTE = 'Control and the token come from WHARF_URL and WHARF_TOKEN, else WHARF_HOME.';
const path = (id: string, rest = '') => `/api/v1/instances/${encodeURIComponent(id)}${rest}`;
const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export const launchHelp = `wharf launch -f FILE [--json]

  -f, --file FILE   the app config JSON (as \`wharf export\` writes it; "-" reads stdin)
  --json            print the instance view instead of the id

${ENV_NOTE}`;

export async function runLaunch(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { file: { type: 'string', short: 'f' }, json: { type: 'boolean' } });
  positionals(given, [], 'wharf launch -f FILE [--json]');
  if (!values.file) throw new UsageError('--file is missing: wharf launch -f FILE [--json]');
  let text: string;
  try {
    text = readFileSync(values.file === '-' ? 0 : values.file, 'utf8');
  } catch (err) {
    throw new UsageError(`--file: cannot read ${values.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--file: ${values.file} is not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  let view: InstanceView;
  try {
    view = await new ControlClient().call<InstanceView>('POST', '/api/v1/instances', config);
  } catch (err) {
    // Several mistakes in the file: one line each, so that all are fixed in one go.
    const errors = (err as { errors?: { field?: string; message?: string }[] }).errors;
    if (!errors || errors.length < 2) throw err;
    const lines = errors.map((e) => `  ${e.field ? `${e.field}: ` : ''}${e.message}`);
    throw new Error(`${values.file === '-' ? 'the config' : values.file} has ${errors.length} mistakes:\n${lines.join('\n')}`);
  }
  if (values.json) printJson(view);
  else console.log(view.id);
}

/** Stopped and failed instances `wharf ls` shows without --all or --status: the newest ones. */
export const LS_FINISHED = 20;

export const lsHelp = `wharf ls [--status S[,S…]] [--project P] [--tag T] [--queue Q] [--owner USER] [--all] [--json]

  lists your instances (an admin: everyone's), newest first: id, name, app, status, project, age.
  The table lists every instance that is not stopped or failed, and the ${LS_FINISHED} newest stopped or
  failed ones; --all, --status or --json lists them all. \`wharf rm ID\` removes one you no longer need.

${ENV_NOTE}`;

/** 42s, 5m, 3h, 2d. */
export function age(fromIso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

export async function runLs(argv: string[]): Promise<void> {
  const flags = { status: { type: 'string' }, project: { type: 'string' }, tag: { type: 'string' }, queue: { type: 'string' }, owner: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } as const;
  const { values, positionals: given } = parseCommand(argv, flags);
  positionals(given, [], 'wharf ls [--status --project --tag --queue --owner] [--all] [--json]');
  const query = new URLSearchParams();
  for (const key of ['status', 'project', 'tag', 'queue', 'owner'] as const) {
    const value = values[key];
    if (value !== undefined) query.set(key, value);
  }
  // After weeks of use most instances are stopped: the table shows only the newest of those,
  // unless asked; --json lists every one, as it always did (scripts rely on it).
  if (!values.all && values.status === undefined && !values.json) query.set('finishedLimit', String(LS_FINISHED));
  const qs = query.size ? `?${query}` : '';
  const { instances, finishedLeftOut } = await new ControlClient().call<{ instances: InstanceView[]; finishedLeftOut?: number }>('GET', `/api/v1/instances${qs}`);
  if (values.json) {
    printJson(instances);
    return;
  }
  const now = Date.now();
  console.log(table([['ID', 'NAME', 'APP', 'STATUS', 'PROJECT', 'AGE'], ...instances.map((i) => [i.id, i.name || '-', i.app, statusWords(i.status), i.project, age(i.created, now)])]));
  if (finishedLeftOut) console.log(`… and ${finishedLeftOut} older stopped or failed (wharf ls --all lists them; wharf rm ID removes one)`);
}

/** The lines `wharf show` prints: the status in the dashboard's words, the links that lead somewhere. */
export function showLines(view: InstanceView & Record<string, unknown>): string[] {
  const status = statusWords(view.status);
  // A TCP app is reached on its port (wharf connect): its HTTPS name leads nowhere.
  const tcp = view.config?.routing?.mode === 'tcp';
  const lines: [string, unknown][] = [
    ['id', view.id], ['name', view.name], ['app', view.app],
    ['status', view.statusReason ? `${status} (${view.statusReason})` : status],
    ['owner', view.owner], ['project', view.project], ['queue', view.queue], ['agent', view.agent],
    ['idle', view.idleSeconds === null ? null : `${view.idleSeconds}s`], ['restoredFrom', view.restoredFrom],
    ['created', view.created], ['https', tcp ? null : view.links.https], ['tcp', view.links.tcp],
    ['connect', tcp ? `wharf connect ${view.id}` : null],
  ];
  return lines.filter(([, value]) => value !== null && value !== undefined && value !== '').map(([key, value]) => `${`${key}:`.padEnd(14)}${String(value)}`);
}

export const showHelp = `wharf show ID [--json]

  the instance view: status, owner, links, config

${ENV_NOTE}`;

export async function runShow(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf show ID [--json]');
  const view = await new ControlClient().call<InstanceView & Record<string, unknown>>('GET', path(id));
  if (values.json) {
    printJson(view);
    return;
  }
  for (const line of showLines(view)) console.log(line);
}

export const stopHelp = `wharf stop ID [--json]

  stops an instance: a queued one at once, a running one after its snapshot

${ENV_NOTE}`;

export async function runStop(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf stop ID');
  const view = await new ControlClient().call<InstanceView>('POST', path(id, '/stop'));
  if (values.json) printJson(view);
  else console.log(`${view.id} ${statusWords(view.status)}`);
}

export const rmHelp = `wharf rm ID [ID…] [--snapshots] [--json]

  removes stopped or failed instances: from lists, with their console and metrics. Their
  workspace snapshots are kept, so \`wharf clone ID\` and workspace.restoreFrom still work;
  --snapshots deletes those too. A running instance is refused: \`wharf stop ID\` it first.

${ENV_NOTE}`;

interface RemoveAnswer { id: string; removed: boolean; snapshotsRemoved: string[]; snapshotsKept: number }

export async function runRm(argv: string[]): Promise<void> {
  const { values, positionals: ids } = parseCommand(argv, { snapshots: { type: 'boolean' }, json: { type: 'boolean' } });
  if (ids.length === 0) throw new UsageError('ID is missing: wharf rm ID [ID…] [--snapshots]');
  const client = new ControlClient();
  const answers: RemoveAnswer[] = [];
  // One by one, each said as it goes: a refusal stops there, with those before it removed.
  for (const id of ids) {
    const answer = await client.call<RemoveAnswer>('DELETE', `${path(id)}${values.snapshots ? '?snapshots=1' : ''}`);
    answers.push(answer);
    if (values.json) continue;
    const kept = answer.snapshotsKept ? `; ${answer.snapshotsKept} snapshot${answer.snapshotsKept === 1 ? '' : 's'} kept (wharf clone ${answer.id})` : '';
    const gone = answer.snapshotsRemoved.length ? `, with ${answer.snapshotsRemoved.length} snapshot${answer.snapshotsRemoved.length === 1 ? '' : 's'}` : '';
    console.log(`${answer.id} removed${gone}${kept}`);
  }
  if (values.json) printJson(answers);
}

export const exportHelp = `wharf export ID

  prints the instance's complete app config JSON (defaults filled), ready for \`wharf launch -f\`

${ENV_NOTE}`;

export async function runExport(argv: string[]): Promise<void> {
  const { positionals: given } = parseCommand(argv, {});
  const [id] = positionals(given, ['ID'], 'wharf export ID');
  printJson(await new ControlClient().call('GET', path(id, '/config')));
}

export const cloneHelp = `wharf clone ID

  prints the instance's config with workspace.restoreFrom set to it: launch it to continue where it stopped

${ENV_NOTE}`;

export async function runClone(argv: string[]): Promise<void> {
  const { positionals: given } = parseCommand(argv, {});
  const [id] = positionals(given, ['ID'], 'wharf clone ID');
  printJson(await new ControlClient().call('POST', path(id, '/clone')));
}

export const tokenHelp = `wharf token ID [--lifetime SECONDS] [--json]

  prints a gateway token for the instance, for \`Authorization: Bearer\` (default one hour)

${ENV_NOTE}`;

export async function runToken(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { lifetime: { type: 'string' }, json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf token ID [--lifetime SECONDS]');
  let body: { lifetimeS?: number } = {};
  if (values.lifetime !== undefined) {
    if (!/^[0-9]+$/.test(values.lifetime)) throw new UsageError(`--lifetime must be a whole number of seconds, got "${values.lifetime}"`);
    body = { lifetimeS: Number(values.lifetime) };
  }
  const answer = await new ControlClient().call<TokenAnswer>('POST', path(id, '/token'), body);
  if (values.json) printJson(answer);
  else console.log(answer.token);
}

export const openHelp = `wharf open ID

  prints a one-time browser link to the instance (valid 60 s)

${ENV_NOTE}`;

export async function runOpen(argv: string[]): Promise<void> {
  const { positionals: given } = parseCommand(argv, {});
  const [id] = positionals(given, ['ID'], 'wharf open ID');
  const answer = await new ControlClient().call<TokenAnswer>('POST', path(id, '/token'), { purpose: 'open' });
  console.log(answer.link);
}

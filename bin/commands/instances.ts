import { readFileSync } from 'node:fs';
import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

/*
 * The instance commands of DESIGN.md ("CLI"): launch, ls, show, stop, export, clone, token,
 * open. `--json` prints the API's JSON; export and clone print the config JSON; errors are one
 * line (bin/wharf.ts prints them).
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
  const view = await new ControlClient().call<InstanceView>('POST', '/api/v1/instances', config);
  if (values.json) printJson(view);
  else console.log(view.id);
}

export const lsHelp = `wharf ls [--status S[,S…]] [--project P] [--tag T] [--queue Q] [--owner USER] [--json]

  lists your instances (an admin: everyone's), newest first: id, name, app, status, project, age

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
  const flags = { status: { type: 'string' }, project: { type: 'string' }, tag: { type: 'string' }, queue: { type: 'string' }, owner: { type: 'string' }, json: { type: 'boolean' } } as const;
  const { values, positionals: given } = parseCommand(argv, flags);
  positionals(given, [], 'wharf ls [--status --project --tag --queue --owner] [--json]');
  const query = new URLSearchParams();
  for (const key of ['status', 'project', 'tag', 'queue', 'owner'] as const) {
    const value = values[key];
    if (value !== undefined) query.set(key, value);
  }
  const qs = query.size ? `?${query}` : '';
  const { instances } = await new ControlClient().call<{ instances: InstanceView[] }>('GET', `/api/v1/instances${qs}`);
  if (values.json) {
    printJson(instances);
    return;
  }
  const now = Date.now();
  console.log(table([['ID', 'NAME', 'APP', 'STATUS', 'PROJECT', 'AGE'], ...instances.map((i) => [i.id, i.name || '-', i.app, i.status, i.project, age(i.created, now)])]));
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
  const lines: [string, unknown][] = [
    ['id', view.id], ['name', view.name], ['app', view.app],
    ['status', view.statusReason ? `${view.status} (${view.statusReason})` : view.status],
    ['owner', view.owner], ['project', view.project], ['queue', view.queue], ['agent', view.agent],
    ['idle', view.idleSeconds === null ? null : `${view.idleSeconds}s`], ['restoredFrom', view.restoredFrom],
    ['created', view.created], ['https', view.links.https], ['tcp', view.links.tcp],
  ];
  for (const [key, value] of lines) if (value !== null && value !== undefined && value !== '') console.log(`${`${key}:`.padEnd(14)}${String(value)}`);
}

export const stopHelp = `wharf stop ID [--json]

  stops an instance: a queued one at once, a running one after its snapshot

${ENV_NOTE}`;

export async function runStop(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf stop ID');
  const view = await new ControlClient().call<InstanceView>('POST', path(id, '/stop'));
  if (values.json) printJson(view);
  else console.log(`${view.id} ${view.status}`);
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
  const answer = await new ControlClient().call<TokenAnswer>('POST', path(id, '/token'), {});
  console.log(answer.link);
}

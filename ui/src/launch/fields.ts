import type { TSchema } from '@sinclair/typebox';
import { ContainerAppConfig, JupyterAppConfig, type AppKind } from '../../../protocol/app-config.ts';

/*
 * The launch form's fields: one entry per scalar or list field of the app config, in the
 * order the form shows them, with its label and where it sits (the basic part, or one of the
 * folds). Env variables and files are rows of their own (see form-values.ts). Hints come from
 * the schema's descriptions, so the form says what the API checks.
 */

export type FoldId = 'container' | 'env' | 'files' | 'idle' | 'workspace' | 'git' | 'python';

export const FOLDS: { id: FoldId; summary: string; kinds?: AppKind[] }[] = [
  { id: 'container', summary: 'Container options' },
  { id: 'env', summary: 'Environment variables' },
  { id: 'files', summary: 'Files' },
  { id: 'idle', summary: 'Idle shutdown' },
  { id: 'workspace', summary: 'Workspace' },
  { id: 'git', summary: 'Git repository', kinds: ['jupyter'] },
  { id: 'python', summary: 'Packages and init script', kinds: ['jupyter'] },
];

export type Control = 'text' | 'number' | 'textarea' | 'lines' | 'select' | 'checkbox';

export interface FieldDef {
  /** The config path (`routing.port`); also the key of its value in FormValues. */
  key: string;
  label: string;
  control: Control;
  /** Where it is shown: undefined is the basic part, always visible. */
  fold?: FoldId;
  /** Only for these kinds (default: both). */
  kinds?: AppKind[];
  /** Words of our own, before the schema's description. */
  help?: string;
  options?: { value: string; label: string }[];
  /** Monospaced: commands, paths, scripts. */
  code?: boolean;
}

export const FIELDS: FieldDef[] = [
  { key: 'name', label: 'Name', control: 'text', help: 'Shown in the instance list; empty shows the instance id.' },
  { key: 'image', label: 'Image', control: 'text', code: true },
  { key: 'command', label: 'Command', control: 'textarea', code: true, help: 'Replaces the image\'s entrypoint and command; split into words like a POSIX shell, without expansion. Empty runs the image\'s own.' },
  {
    key: 'routing.mode', label: 'Routing', control: 'select',
    help: 'How the app is reached through the gateway.',
    options: [
      { value: 'https', label: 'https: a web address' },
      { value: 'tcp', label: 'tcp: a TCP port' },
      { value: 'none', label: 'none: not reachable' },
    ],
  },
  { key: 'routing.port', label: 'Port', control: 'number', help: 'The port the app listens on inside the container; required unless routing is none.' },
  { key: 'project', label: 'Project', control: 'text' },
  { key: 'tags', label: 'Tags', control: 'lines', help: 'One per line.' },
  { key: 'queue', label: 'Queue', control: 'text', help: 'Agents serving this queue run the app.' },

  { key: 'workdir', label: 'Working directory', control: 'text', fold: 'container', code: true },
  { key: 'containerArgs', label: 'Container arguments', control: 'textarea', fold: 'container', code: true, help: 'Docker options from the documented set, such as --shm-size 256m --cpus 1. Host access needs an admin.' },

  { key: 'idle.maxHours', label: 'Stop after idle hours', control: 'number', fold: 'idle', help: 'The instance stops (after a snapshot) once it has been idle this long.' },
  { key: 'idle.networkMBps', label: 'Idle below network MB/s', control: 'number', fold: 'idle' },
  { key: 'idle.cpuPercent', label: 'Idle below CPU %', control: 'number', fold: 'idle' },
  { key: 'idle.gpuPercent', label: 'Idle below GPU %', control: 'number', fold: 'idle' },

  { key: 'workspace.path', label: 'Workspace path', control: 'text', fold: 'workspace', code: true, help: 'Kept in a snapshot whenever the instance stops.' },
  { key: 'workspace.restoreFrom', label: 'Restore from instance', control: 'text', fold: 'workspace', code: true, help: 'Start with the newest snapshot of this instance\'s workspace; empty starts empty.' },
  { key: 'workspace.exclude', label: 'Leave out of snapshots', control: 'lines', fold: 'workspace', code: true, help: 'One pattern per line, such as .cache or *.log.' },

  { key: 'git.repo', label: 'Repository URL', control: 'text', fold: 'git', kinds: ['jupyter'], code: true },
  { key: 'git.branch', label: 'Branch', control: 'text', fold: 'git', kinds: ['jupyter'], code: true },
  { key: 'git.commit', label: 'Commit', control: 'text', fold: 'git', kinds: ['jupyter'], code: true },
  { key: 'git.storeInSnapshot', label: 'Clone into the workspace (kept in snapshots)', control: 'checkbox', fold: 'git', kinds: ['jupyter'], help: 'Otherwise the repository is cloned outside the workspace and not snapshotted.' },

  { key: 'extraPackages', label: 'Extra packages', control: 'lines', fold: 'python', kinds: ['jupyter'], code: true, help: 'One pip requirement per line.' },
  { key: 'initScript', label: 'Init script', control: 'textarea', fold: 'python', kinds: ['jupyter'], code: true, help: 'Runs before Jupyter starts.' },
];

export const SCHEMAS: Record<AppKind, TSchema> = { container: ContainerAppConfig, jupyter: JupyterAppConfig };

export function fieldsOf(kind: AppKind): FieldDef[] {
  return FIELDS.filter((f) => !f.kinds || f.kinds.includes(kind));
}

export function fieldDef(key: string): FieldDef | undefined {
  return FIELDS.find((f) => f.key === key);
}

/** The schema of a dotted path (`routing.port`, `files.path`: lists step into their items, records into their values). */
export function schemaAt(kind: AppKind, path: string): TSchema | undefined {
  let schema: TSchema | undefined = SCHEMAS[kind];
  for (const part of path.split('.')) {
    if (!schema) return undefined;
    if (schema.type === 'array') schema = schema.items as TSchema;
    if (part === '*') schema = Object.values((schema.patternProperties ?? {}) as Record<string, TSchema>)[0];
    else schema = (schema.properties as Record<string, TSchema> | undefined)?.[part];
  }
  return schema;
}

function sentence(text: string): string {
  const t = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The hint under a field: our words, then what the schema expects and its default. */
export function hintOf(kind: AppKind, path: string, help?: string): string {
  const schema = schemaAt(kind, path);
  const parts: string[] = [];
  if (help) parts.push(sentence(help));
  const item = schema?.type === 'array' ? (schema.items as TSchema) : undefined;
  const described = (item?.description ?? schema?.description) as string | undefined;
  if (described && !(schema?.anyOf)) parts.push(sentence(`Must be ${described}`));
  const value = schema?.default as unknown;
  if (typeof value === 'string' && value !== '') parts.push(`Default: ${value}.`);
  else if (typeof value === 'number') parts.push(`Default: ${value}.`);
  return parts.join(' ');
}

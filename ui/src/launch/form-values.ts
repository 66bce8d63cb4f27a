import { Value } from '@sinclair/typebox/value';
import type { AppConfig, AppKind } from '../../../protocol/app-config.ts';
import { SCHEMAS, fieldsOf } from './fields.ts';
import { fieldName, findUnknown, setAt, type UnknownField } from './unknown-fields.ts';

/*
 * What the launch form holds, as the strings its inputs hold, and the conversion to and from an
 * app config. Pure: the form reads and writes these values, parseAppConfig judges the config.
 *
 * - Text fields hold the config's string as it is ("" stays "", the schema's own default).
 * - Number fields hold the number as typed; "" leaves the field out (its default applies; for
 *   routing.port, absent). A text that is not a number goes to the schema as it is, so its
 *   error names the field.
 * - List fields (tags, workspace.exclude, extraPackages) hold one item per line; empty lines
 *   are dropped.
 * - workspace.restoreFrom "" is null.
 * - Fields the kind does not know (an imported file's) are kept aside with their values
 *   (unknown-fields.ts) and written back where they were, for the check to refuse.
 */

export interface EnvRow { name: string; value: string }
export interface FileRow { path: string; mode: string; content: string }

export interface FormValues {
  app: AppKind;
  /** By config path (`routing.port`), for every field of FIELDS but the checkbox. */
  text: Record<string, string>;
  storeInSnapshot: boolean;
  env: EnvRow[];
  files: FileRow[];
  /** Fields of an imported config that the kind does not know, until moved or removed. */
  unknown: UnknownField[];
}

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

function getPath(obj: unknown, path: string): unknown {
  let at = obj;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = obj;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]] = value;
}

/** A value from a config as an input shows it; tolerant of wrong types, for imports that failed the check. */
function asText(value: unknown, list: boolean): string {
  if (value === undefined || value === null) return '';
  if (list && Array.isArray(value)) return value.map((v) => asText(v, false)).join('\n');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * The form's values for a config. The config may be complete (parseAppConfig's answer) or
 * partial or even wrong (an import that failed the check): the schema's defaults fill what is
 * missing, and values of the wrong type are shown as text, for the check to point at.
 */
export function valuesFromConfig(config: Partial<AppConfig> & { app: AppKind }): FormValues {
  const kind = config.app;
  const filled = Value.Default(SCHEMAS[kind], structuredClone(config)) as Record<string, unknown>;
  const text: Record<string, string> = {};
  for (const f of fieldsOf(kind)) {
    if (f.control !== 'checkbox') text[f.key] = asText(getPath(filled, f.key), f.control === 'lines');
  }
  const env = getPath(filled, 'env');
  const files = getPath(filled, 'files');
  const store = getPath(filled, 'git.storeInSnapshot');
  return {
    app: kind,
    text,
    storeInSnapshot: store === undefined ? true : store === true,
    env: env && typeof env === 'object' && !Array.isArray(env)
      ? Object.entries(env).map(([name, value]) => ({ name, value: asText(value, false) }))
      : [],
    files: Array.isArray(files)
      ? files.map((f: unknown) => {
        const file = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
        return { path: asText(file.path, false), mode: asText(file.mode ?? '0644', false), content: asText(file.content, false) };
      })
      : [],
    unknown: findUnknown(kind, config),
  };
}

/** A new form: every field at its default (a container's image is empty: the user must give one). */
export function defaultValues(kind: AppKind): FormValues {
  return valuesFromConfig({ app: kind } as AppConfig);
}

/** The config the form describes, for parseAppConfig to check and complete. */
export function configFromValues(values: FormValues): Record<string, unknown> {
  const config: Record<string, unknown> = { kind: 'wharf.app-config', version: 1, app: values.app };
  for (const f of fieldsOf(values.app)) {
    if (f.control === 'checkbox') {
      setPath(config, f.key, values.storeInSnapshot);
      continue;
    }
    const raw = values.text[f.key] ?? '';
    if (f.control === 'number') {
      if (raw.trim() === '') continue;
      setPath(config, f.key, NUMBER.test(raw) ? Number(raw) : raw);
    } else if (f.control === 'lines') {
      setPath(config, f.key, raw.split('\n').filter((line) => line !== ''));
    } else if (f.key === 'workspace.restoreFrom') {
      setPath(config, f.key, raw.trim() === '' ? null : raw.trim());
    } else {
      setPath(config, f.key, raw);
    }
  }
  config.env = Object.fromEntries(values.env.map((row) => [row.name, row.value]));
  config.files = values.files.map((row) => ({ path: row.path, content: row.content, mode: row.mode }));
  for (const u of values.unknown) setAt(config, u.path, structuredClone(u.value));
  return config;
}

/**
 * The values read again from `config`, keeping what the user has in every input but those of
 * `targets` (config paths: `command`, `routing`, `files[0].content`), which take the config's.
 */
function rereadInto(values: FormValues, config: Record<string, unknown>, targets: string[]): FormValues {
  const fresh = valuesFromConfig(config as Partial<AppConfig> & { app: AppKind });
  const hit = (key: string) => targets.some((t) => key === t || key.startsWith(`${t}.`) || key.startsWith(`${t}[`) || t.startsWith(`${key}.`) || t.startsWith(`${key}[`));
  return {
    ...fresh,
    text: Object.fromEntries(Object.entries(fresh.text).map(([key, text]) => [key, hit(key) ? text : values.text[key] ?? text])),
    storeInSnapshot: hit('git.storeInSnapshot') ? fresh.storeInSnapshot : values.storeInSnapshot,
    env: hit('env') ? fresh.env : values.env.map((r) => ({ ...r })),
    files: hit('files') ? fresh.files : values.files.map((f) => ({ ...f })),
  };
}

/**
 * The values with unknown field `index` moved to the known field `key` beside it (its "did you
 * mean": `routing.prot` → `port`), so that the form shows its value in that field's input.
 */
export function moveUnknown(values: FormValues, index: number, key: string): FormValues {
  const moved = values.unknown[index];
  const config = configFromValues({ ...values, unknown: values.unknown.filter((_, i) => i !== index) });
  const path = [...moved.path.slice(0, -1), key];
  setAt(config, path, structuredClone(moved.value));
  return rereadInto(values, config, [fieldName(path)]);
}

/** The values without unknown field `index`: the user dropped it. */
export function removeUnknown(values: FormValues, index: number): FormValues {
  return { ...values, unknown: values.unknown.filter((_, i) => i !== index) };
}

/**
 * The values after switching the app kind: what the user changed carries over, what still
 * holds the old kind's default takes the new kind's (project, image, port), and fields of the
 * other kind only are dropped or added at their defaults.
 */
export function switchKind(values: FormValues, to: AppKind): FormValues {
  if (values.app === to) return values;
  const before = defaultValues(values.app);
  const after = defaultValues(to);
  const text: Record<string, string> = {};
  for (const key of Object.keys(after.text)) {
    const mine = values.text[key];
    text[key] = mine === undefined || mine === before.text[key] ? after.text[key] : mine;
  }
  const switched = { ...values, app: to, text, env: values.env.map((r) => ({ ...r })), files: values.files.map((f) => ({ ...f })) };
  // An imported field of the new kind (`git` kept aside in a container form) now has inputs: it fills them.
  const known = values.unknown.filter((u) => !findUnknown(to, configFromValues({ ...switched, unknown: [u] })).some((still) => still.field === u.field));
  if (!known.length) return switched;
  return rereadInto(switched, configFromValues(switched), known.map((u) => u.field));
}

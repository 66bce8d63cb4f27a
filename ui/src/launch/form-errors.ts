import { parseAppConfig, type AppKind } from '../../../protocol/app-config.ts';
import { problemText, ValidationError, type Problem } from '../../../protocol/validate.ts';
import { fieldsOf } from './fields.ts';
import { configFromValues, type FormValues } from './form-values.ts';

/*
 * From the schema's errors to the form's inputs. parseAppConfig, the same check the API runs,
 * names every offending field (`routing.port`, `files[0].path`, `env.FOO`); `keyOfField`
 * finds the input that holds it, and `validateForm` also finds the errors a first one hides
 * (a missing port behind an invalid routing mode) by setting each offending field to a valid
 * stand-in and checking again.
 */

export interface FieldError {
  /** The input (a FormValues key: `routing.port`, `env[2].name`, `files[0].path`), a row group (`env`, `files`), `app`, or null: the form as a whole. */
  key: string | null;
  /** The config field the check named. */
  field: string;
  /** What is wrong, without the field's name (`must be a port from 1 to 65535`). */
  message: string;
  /** For an unknown field: the known field it is closest to (`routing.port` for `routing.prot`). */
  suggestion?: string;
}

const LISTS = ['tags', 'workspace.exclude', 'extraPackages'];

/**
 * The input that holds config field `field`, given the form's rows: an imported unknown field's
 * entry is `unknown[i]`; null when the form has none (`kind`).
 */
export function keyOfField(field: string, values: FormValues, message = ''): string | null {
  if (field === 'app') return 'app';
  const unknown = values.unknown.findIndex((u) => u.field === field);
  if (unknown >= 0) return `unknown[${unknown}]`;
  if (fieldsOf(values.app).some((f) => f.key === field)) return field;
  const item = /^(.+)\[(\d+)\]$/.exec(field);
  if (item && LISTS.includes(item[1])) return item[1];
  const file = /^files\[(\d+)\](?:\.(path|mode|content))?$/.exec(field);
  if (file) return Number(file[1]) < values.files.length ? `files[${file[1]}].${file[2] ?? 'path'}` : 'files';
  if (field === 'files' || field === 'env') return field;
  if (field.startsWith('env.')) {
    const name = field.slice('env.'.length);
    const row = values.env.findIndex((r) => r.name === name);
    if (row < 0) return 'env';
    return `env[${row}].${/variable name/.test(message) ? 'name' : 'value'}`;
  }
  return null;
}

/** The message shown at the input: list items say which line. */
function messageAt(field: string, message: string): string {
  const item = /^(.+)\[(\d+)\]$/.exec(field);
  if (item && LISTS.includes(item[1])) return `line ${Number(item[2]) + 1}: ${message}`;
  return message;
}

/** `field: message` → its parts; a message that names no field gives field "". */
export function splitMessage(text: string): { field: string; message: string } {
  const m = /^([A-Za-z_][^\s:]*): ([\s\S]+)$/.exec(text);
  return m ? { field: m[1], message: m[2] } : { field: '', message: text };
}

/** Valid stand-ins, so that checking again finds the next error rather than this one. */
function standIns(kind: AppKind): Record<string, unknown> {
  return {
    name: '', project: 'p', queue: 'default', image: 'wharf/placeholder', command: '', workdir: '', containerArgs: '',
    'routing.mode': 'https', 'routing.port': kind === 'jupyter' ? 8888 : 1,
    'idle.maxHours': 1, 'idle.networkMBps': 0, 'idle.cpuPercent': 0, 'idle.gpuPercent': 0,
    'workspace.path': '/root/workspace', 'workspace.restoreFrom': null,
    // A repo, not "": a branch or commit must not be blamed for an invalid repo.
    'git.repo': 'https://placeholder.invalid/repo.git', 'git.branch': '', 'git.commit': '', 'git.storeInSnapshot': true,
    initScript: '', tags: [], 'workspace.exclude': [], extraPackages: [], env: {}, files: [],
  };
}

function replaceAt(config: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = config;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null || Array.isArray(at[part])) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]] = value;
}

/** Makes `field` valid in `config`; false when it cannot (an unknown field, the kind). */
function standIn(config: Record<string, unknown>, field: string, kind: AppKind): boolean {
  const valid = standIns(kind);
  if (Object.hasOwn(valid, field)) {
    replaceAt(config, field, structuredClone(valid[field]));
    return true;
  }
  const item = /^(tags|workspace\.exclude|extraPackages)\[(\d+)\]$/.exec(field);
  if (item) {
    const list = item[1] === 'workspace.exclude' ? (config.workspace as Record<string, unknown>).exclude : config[item[1]];
    (list as unknown[])[Number(item[2])] = `placeholder-${item[2]}`;
    return true;
  }
  const file = /^files\[(\d+)\]/.exec(field);
  if (file) {
    (config.files as unknown[])[Number(file[1])] = { path: `/placeholder/${file[1]}`, content: '', mode: '0644' };
    return true;
  }
  if (field.startsWith('env.')) {
    delete (config.env as Record<string, unknown>)[field.slice('env.'.length)];
    return true;
  }
  return false;
}

/** Problems the config cannot show: two env rows with one name would silently become one. */
function rowErrors(values: FormValues): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  values.env.forEach((row, i) => {
    if (seen.has(row.name)) errors.push({ key: `env[${i}].name`, field: `env.${row.name}`, message: 'is given by an earlier variable' });
    seen.add(row.name);
  });
  return errors;
}

/** A problem the check named, at its input. */
function atInput(p: Problem, values: FormValues): FieldError {
  const key = keyOfField(p.field, values, p.message);
  return { key, field: p.field, message: messageAt(p.field, p.message), ...(p.suggestion ? { suggestion: p.suggestion } : {}) };
}

/** Every error of the form (the form shows them in its own order); none when it can be submitted. */
export function validateForm(values: FormValues): FieldError[] {
  const errors = rowErrors(values);
  const config = configFromValues(values);
  const seen = new Set<string>();
  for (let round = 0; round < 20; round++) {
    let problems: Problem[];
    try {
      parseAppConfig(config);
      break;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems = err.problems.filter((p) => !seen.has(p.field));
    }
    let stoodIn = false;
    for (const p of problems) {
      seen.add(p.field);
      const error = atInput(p, values);
      if (!errors.some((e) => e.key !== null && e.key === error.key)) errors.push(error);
      if (standIn(config, p.field, values.app)) stoodIn = true;
    }
    // Nothing new could be made valid (unknown fields, the kind): checking again finds nothing new.
    if (!stoodIn) break;
  }
  return errors;
}

/**
 * The error a server answer names, mapped to the form's input where it has one. The field is the
 * answer's `field` where control gives one (its validation errors), else the one its message
 * starts with (`routing.port: must be …`).
 */
export function serverError(message: string, values: FormValues, answerField?: string): FieldError {
  const { field, message: rest } = answerField
    ? { field: answerField, message: message.startsWith(`${answerField}: `) ? message.slice(answerField.length + 2) : message }
    : splitMessage(message);
  const key = field ? keyOfField(field, values, rest) : null;
  return key ? { key, field, message: messageAt(field, rest) } : { key: null, field, message };
}

/**
 * Every error of a server answer, each at its input: its `errors` list where control gives one
 * (a config with several mistakes), else the one its `field` and message name.
 */
export function serverErrors(answer: { message: string; field?: string; errors?: Problem[] }, values: FormValues): FieldError[] {
  if (!answer.errors?.length) return [serverError(answer.message, values, answer.field)];
  return answer.errors.map((p) => {
    const error = atInput(p, values);
    // Shown with the form as a whole: the message names its field.
    return error.key === null ? { ...error, message: problemText(p) } : error;
  });
}

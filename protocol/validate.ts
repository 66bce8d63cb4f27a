import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { suggest } from './suggest.ts';

/**
 * One mistake in a value: `field` is the dotted path users see (`routing.mode`, "" for the value
 * as a whole); `suggestion`, for an unknown field, the known field at that level it is closest
 * to (`routing.port` for `routing.prot`).
 */
export interface Problem {
  field: string;
  message: string;
  suggestion?: string;
}

/** `routing.port: must be …`, or the message alone for the value as a whole. */
export function problemText(p: Problem): string {
  return p.field ? `${p.field}: ${p.message}` : p.message;
}

/**
 * A value that does not match its schema: every mistake found (`problems`, at least one), so that
 * a person fixes them in one go. `field` is the first one's, and the message says them all.
 */
export class ValidationError extends Error {
  readonly code = 'WHARF_INVALID';
  readonly field: string;
  readonly problems: Problem[];
  constructor(field: string, message: string, more: Problem[] = []) {
    const problems = [{ field, message }, ...more];
    super(problems.map(problemText).join('; '));
    this.field = field;
    this.problems = problems;
  }

  /** The error for a non-empty list of problems. */
  static of(problems: Problem[]): ValidationError {
    const [first, ...more] = problems;
    const err = new ValidationError(first.field, first.message, more);
    err.problems[0] = first; // keeps its suggestion
    return err;
  }
}

/**
 * Problems as they are found, one per field (the first said about it), for checks that go on
 * after a mistake so that all of them are reported at once.
 */
export class Problems {
  readonly list: Problem[] = [];

  add(field: string, message: string, suggestion?: string): void {
    if (this.list.some((p) => p.field === field)) return;
    this.list.push(suggestion === undefined ? { field, message } : { field, message, suggestion });
  }

  /** Whether a problem was found at `field`, inside it or around it: a check of `field` would only repeat it. */
  touches(field: string): boolean {
    return this.list.some((p) => within(p.field, field) || within(field, p.field));
  }

  /** Whether a problem was found at `field` or around it (`files` for `files[0]`): its parts cannot be checked. */
  blocks(field: string): boolean {
    return this.list.some((p) => within(field, p.field));
  }

  /** Throws them all as one ValidationError, if there are any. */
  throwIfAny(): void {
    if (this.list.length) throw ValidationError.of(this.list);
  }
}

/** Whether path `inner` is `outer` or lies inside it (`files[0].path` in `files`; everything in ""). */
function within(inner: string, outer: string): boolean {
  return outer === '' || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
}

/** `/routes/3/headers` → `routes[3].headers`, the way people write paths in JSON. */
export function fieldPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

/**
 * Checks `value` against `schema`, fills defaults, and returns it typed; throws a
 * ValidationError naming every offending field. The input is not modified.
 */
export function parse<S extends TSchema>(schema: S, value: unknown, prefix = ''): Static<S> {
  const problems = new Problems();
  const filled = check(schema, value, problems, prefix);
  problems.throwIfAny();
  return filled;
}

/**
 * `parse` that adds what is wrong to `problems` instead of throwing, for a caller with checks of
 * its own to run on the fields that passed. The answer is typed only when no problem was added.
 */
export function check<S extends TSchema>(schema: S, value: unknown, problems: Problems, prefix = ''): Static<S> {
  const before = problems.list.length;
  const shaped = checkContainers(schema, value, prefix, problems);
  const containers = problems.list.slice(before).map((p) => p.field);
  // Without the wrong containers: TypeBox's defaults would otherwise be merged into them
  // (an object with a `length` where a list belongs made an invalid array and threw).
  const filled = Value.Default(schema, structuredClone(shaped));
  const errors = [...Value.Errors(schema, filled)].map((error) => ({ error, field: fieldPath(error.path, prefix) }))
    // Value.Default made a list of `{}` (and the reverse): what it says there is about its own stand-in.
    .filter(({ field }) => !containers.some((c) => within(field, c)));
  const unknown = new Map<string, string | undefined>();
  for (const { error, field } of errors) {
    if (error.message !== 'Unexpected property') continue;
    const slash = error.path.lastIndexOf('/');
    const name = error.path.slice(slash + 1).replaceAll('~1', '/').replaceAll('~0', '~');
    const known = suggest(name, Object.keys((error.schema as { properties?: object }).properties ?? {}));
    const parent = fieldPath(error.path.slice(0, slash), prefix);
    unknown.set(field, known === undefined ? undefined : parent ? `${parent}.${known}` : known);
  }
  const meant = new Set(unknown.values());
  for (const { error, field } of errors) {
    if (unknown.has(field)) {
      const suggestion = unknown.get(field);
      problems.add(field, suggestion ? `unknown field (did you mean ${suggestion}?)` : 'unknown field', suggestion);
    } else if (!(meant.has(field) && error.value === undefined)) {
      // (A required field that a misspelt one was meant to be is said once, at the misspelling.)
      // A schema's `description` says what is expected in words; TypeBox's message is the fallback.
      const described = (error.schema as { description?: string }).description;
      problems.add(field, described ? `must be ${described}` : lowerFirst(error.message));
    }
  }
  return filled as Static<S>;
}

/**
 * Refuses a list where an object belongs and the reverse, and returns the value without them.
 * TypeBox's Value.Default merges a present value into an object-typed default, so without this
 * `files: {}` would become `[]` and `idle: []` would become the default idle settings instead
 * of being refused (and `files: {"length": {}}` made an invalid array and threw).
 */
function checkContainers(schema: TSchema, value: unknown, path: string, problems: Problems): unknown {
  if (value === undefined) return value;
  const must = (what: string) => {
    problems.add(path, `must be ${schema.description ?? what}`);
    return undefined; // left out: the default stands in, and what TypeBox says of it is dropped
  };
  if (schema.type === 'array') {
    if (!Array.isArray(value)) return must('a list');
    return value.map((item, i) => checkContainers(schema.items as TSchema, item, `${path}[${i}]`, problems));
  }
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return must('an object');
    const out: Record<string, unknown> = { ...value };
    for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
      if (Object.hasOwn(value, key)) out[key] = checkContainers(sub, (value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, problems);
    }
    return out;
  }
  return value;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * JSON.parse for files people edit, with an error that says where the mistake is but never
 * quotes the text around it as V8 does: such files (routes, configs) hold secrets.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const lineCol = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const place = lineCol ? ` (line ${lineCol[1]}, column ${lineCol[2]})` : position ? ` (at character ${position[1]})` : '';
    throw new ValidationError('', `not valid JSON${place}`);
  }
}

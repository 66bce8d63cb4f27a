import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** A value that does not match its schema. `field` is the dotted path users see (`routing.mode`). */
export class ValidationError extends Error {
  readonly code = 'WHARF_INVALID';
  readonly field: string;
  constructor(field: string, message: string) {
    super(field ? `${field}: ${message}` : message);
    this.field = field;
  }
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
 * ValidationError naming the first offending field. The input is not modified.
 */
export function parse<S extends TSchema>(schema: S, value: unknown, prefix = ''): Static<S> {
  checkContainers(schema, value, prefix);
  const filled = Value.Default(schema, structuredClone(value));
  const first = Value.Errors(schema, filled).First();
  if (first) {
    // A schema's `description` says what is expected in words; TypeBox's message is the fallback.
    const described = (first.schema as { description?: string }).description;
    const message = first.message === 'Unexpected property' ? 'unknown field' : described ? `must be ${described}` : lowerFirst(first.message);
    throw new ValidationError(fieldPath(first.path, prefix), message);
  }
  return filled as Static<S>;
}

/**
 * Refuses a list where an object belongs and the reverse. TypeBox's Value.Default merges a
 * present value into an object-typed default, so without this `files: {}` would become `[]`
 * and `idle: []` would become the default idle settings instead of being refused.
 */
function checkContainers(schema: TSchema, value: unknown, path: string): void {
  if (value === undefined) return;
  const must = (what: string) => new ValidationError(path, `must be ${schema.description ?? what}`);
  if (schema.type === 'array') {
    if (!Array.isArray(value)) throw must('a list');
    value.forEach((item, i) => checkContainers(schema.items as TSchema, item, `${path}[${i}]`));
  } else if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw must('an object');
    for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
      if (Object.hasOwn(value, key)) checkContainers(sub, (value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    }
  }
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

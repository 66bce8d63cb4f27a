import type { TSchema } from '@sinclair/typebox';
import type { AppKind } from '../../../protocol/app-config.ts';
import { SCHEMAS } from './fields.ts';

/*
 * Fields of an imported config that the app kind does not know (`comand`, `routing.prot`): the
 * form has no input for them, so it keeps them aside, with their values, instead of dropping
 * them. They go back into the config the form describes, where the check refuses them as the
 * API would (with its "did you mean"), until the user moves each to the field it was meant to
 * be or removes it.
 */

export interface UnknownField {
  /** Where it is, as keys and list indexes (`['routing', 'prot']`, `['files', 0, 'contnet']`). */
  path: (string | number)[];
  /** The path as errors name it (`routing.prot`, `files[0].contnet`). */
  field: string;
  /** Its value as the file had it. */
  value: unknown;
}

/** `['files', 0, 'path']` → `files[0].path`. */
export function fieldName(path: (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every field of `config` unknown to the schema of `kind`, at any depth, in the order of the file. */
export function findUnknown(kind: AppKind, config: unknown): UnknownField[] {
  const out: UnknownField[] = [];
  const walk = (schema: TSchema, value: unknown, path: (string | number)[]) => {
    if (Array.isArray(value) && schema.type === 'array' && schema.items) {
      value.forEach((item, i) => walk(schema.items as TSchema, item, [...path, i]));
    } else if (isObject(value) && schema.type === 'object' && schema.properties) {
      const known = schema.properties as Record<string, TSchema>;
      for (const [key, item] of Object.entries(value)) {
        if (Object.hasOwn(known, key)) walk(known[key], item, [...path, key]);
        else if (schema.additionalProperties === false) out.push({ path: [...path, key], field: fieldName([...path, key]), value: structuredClone(item) });
      }
    }
  };
  walk(SCHEMAS[kind], config, []);
  return out;
}

/** Writes `value` at `path` in `config`, making the objects on the way where there are none. */
export function setAt(config: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let at: Record<string | number, unknown> = config;
  for (const [i, part] of path.slice(0, -1).entries()) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = typeof path[i + 1] === 'number' ? [] : {};
    at = at[part] as Record<string | number, unknown>;
  }
  at[path[path.length - 1]] = value;
}

/** The unknown fields after file row `index` is removed: that row's go with it, later rows' move up. */
export function afterFileRemoved(unknown: UnknownField[], index: number): UnknownField[] {
  return unknown.flatMap((u) => {
    if (u.path[0] !== 'files' || typeof u.path[1] !== 'number' || u.path[1] < index) return [u];
    if (u.path[1] === index) return [];
    const path = ['files', u.path[1] - 1, ...u.path.slice(2)];
    return [{ ...u, path, field: fieldName(path) }];
  });
}

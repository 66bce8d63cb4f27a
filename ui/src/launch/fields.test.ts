import { describe, expect, it } from 'vitest';
import { APP_KINDS } from '../../../protocol/app-config.ts';
import { fieldsOf, hintOf, FOLDS, SCHEMAS } from './fields.ts';

describe('launch form fields', () => {
  it('cover every field of each kind\'s config (env and files are rows of their own)', () => {
    for (const kind of APP_KINDS) {
      const paths = (schema: { properties?: Record<string, { type?: string; properties?: object }> }, prefix = ''): string[] =>
        Object.entries(schema.properties ?? {}).flatMap(([key, sub]) =>
          sub.type === 'object' && sub.properties ? paths(sub as never, `${prefix}${key}.`) : [`${prefix}${key}`]);
      const fromSchema = paths(SCHEMAS[kind] as never).filter((p) => !['kind', 'version', 'app', 'env', 'files'].includes(p));
      expect(fieldsOf(kind).map((f) => f.key).sort()).toEqual(fromSchema.sort());
    }
  });

  it('puts each folded field in a fold of its kind', () => {
    for (const kind of APP_KINDS) {
      const folds = FOLDS.filter((f) => !f.kinds || f.kinds.includes(kind)).map((f) => f.id);
      for (const f of fieldsOf(kind)) if (f.fold) expect(folds).toContain(f.fold);
    }
  });

  it('hints say what the schema checks and its default', () => {
    expect(hintOf('container', 'routing.port')).toBe('Must be a port from 1 to 65535.');
    expect(hintOf('jupyter', 'routing.port', 'The app\'s port')).toBe('The app\'s port. Must be a port from 1 to 65535. Default: 8888.');
    expect(hintOf('container', 'tags')).toContain('Must be a tag of 1 to 40 characters');
    expect(hintOf('container', 'files.mode')).toContain('Default: 0644.');
    expect(hintOf('container', 'idle.maxHours')).toContain('Default: 24.');
  });
});

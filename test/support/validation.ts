import { expect } from 'vitest';
import { ValidationError } from '../../protocol/validate.ts';

/** The field path of the ValidationError that `f` throws; fails the test if it throws none. */
export function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseContainerArgs } from '../apps/container-args.ts';
import { parseAppConfig } from './app-config.ts';
import { joinShellWords, ShellWordsError, splitShellWords } from './shell-words.ts';
import { ValidationError } from './validate.ts';

/*
 * Hostile input (issue 19): app configs come from anyone who may launch (the API, the CLI,
 * the launch form, an imported file), `containerArgs` and `command` inside them. Random and
 * mutated configs are read or refused with a ValidationError, nothing else; a complete config
 * reads back as itself; shell words round-trip.
 */

function refusedOnly<T>(f: () => T, ...own: (new (...args: never[]) => Error)[]): T | 'refused' {
  try {
    return f();
  } catch (err) {
    if (own.some((E) => err instanceof E)) return 'refused';
    throw err;
  }
}

const text = fc.string({ unit: 'binary', maxLength: 120 });
const configish = fc.record({
  app: fc.oneof(fc.constantFrom('container', 'jupyter'), fc.jsonValue()),
  image: fc.oneof(fc.constant('wharf/busybox:local'), fc.jsonValue()),
  name: fc.oneof(text, fc.jsonValue()),
  project: fc.oneof(text, fc.jsonValue()),
  command: fc.oneof(text, fc.jsonValue()),
  containerArgs: fc.oneof(fc.constantFrom('--memory 1g', '--cpus 2 --shm-size 64m', '-v data:/data', '--privileged'), text, fc.jsonValue()),
  env: fc.oneof(fc.dictionary(text, text, { maxKeys: 5 }), fc.jsonValue()),
  files: fc.oneof(fc.array(fc.record({ path: text, content: text, mode: fc.constantFrom('0644', '0600', '777', 'x') }), { maxLength: 3 }), fc.jsonValue()),
  routing: fc.oneof(fc.record({ mode: fc.constantFrom('https', 'tcp', 'none', 'x'), port: fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.jsonValue()) }), fc.jsonValue()),
  workspace: fc.oneof(fc.record({ path: text, restoreFrom: fc.oneof(fc.constant(null), text), exclude: fc.array(text, { maxLength: 3 }) }), fc.jsonValue()),
  idle: fc.jsonValue(),
  git: fc.jsonValue(),
}, { requiredKeys: [] });

describe('app configs under hostile input', () => {
  it('reads or refuses random and config-shaped values with a ValidationError only', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => { refusedOnly(() => parseAppConfig(value), ValidationError); }), { numRuns: 2_000 });
    fc.assert(fc.property(configish, (value) => { refusedOnly(() => parseAppConfig(value), ValidationError); }), { numRuns: 3_000 });
  });

  it('refuses an object with a length where a list belongs, naming the field (found by this test: it threw a RangeError)', () => {
    for (const files of [{ length: {} }, { length: 3 }, { length: -1 }]) {
      expect(() => parseAppConfig({ app: 'container', image: 'wharf/busybox:local', files })).toThrow(expect.objectContaining({ field: 'files', message: expect.stringContaining('must be a list') }));
    }
  });

  it('reads a complete config back as itself', () => {
    fc.assert(fc.property(configish, (value) => {
      const config = refusedOnly(() => parseAppConfig(value), ValidationError);
      if (config !== 'refused') expect(parseAppConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    }), { numRuns: 2_000 });
  });

  it('parses or refuses any containerArgs text, for an admin and for a user', () => {
    const flags = fc.array(fc.oneof(fc.constantFrom('--memory', '--cpus', '-v', '--volume', '--shm-size', '--env', '-e', '--device', '--gpus', '--cap-add', '--network', '--user', '--label', '-p', '--ulimit', '--tmpfs', '--', '='), text), { maxLength: 8 })
      .map((words) => words.join(' '));
    for (const admin of [false, true]) {
      fc.assert(fc.property(fc.oneof(text, flags), (args) => {
        refusedOnly(() => parseContainerArgs(args, { admin, owner: 'u-1' }), ValidationError);
      }), { numRuns: 3_000 });
    }
  });

  it('splits shell words or refuses with its own error, and joins them back to the same words', () => {
    fc.assert(fc.property(text, (line) => { refusedOnly(() => splitShellWords(line), ShellWordsError); }), { numRuns: 3_000 });
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 20 }), { maxLength: 8 }), (words) => {
      expect(splitShellWords(joinShellWords(words))).toEqual(words);
    }), { numRuns: 2_000 });
  });
});

import { describe, expect, it } from 'vitest';
import { parsers, readSettings, UsageError, type Setting } from './settings.ts';

const opt = <T>(s: Setting<T>): Setting<T> => s;
const spec = {
  port: opt({ flag: 'port', env: 'T_PORT', default: 8443, parse: parsers.port, help: '' }),
  range: opt<[number, number]>({ flag: 'range', env: 'T_RANGE', default: [1, 2], parse: parsers.range, help: '' }),
  on: opt({ flag: 'on', env: 'T_ON', default: false, boolean: true, parse: parsers.bool, help: '' }),
  certs: opt<string[]>({ flag: 'cert', env: 'T_CERTS', default: [], multiple: true, parse: parsers.string, help: '' }),
};

describe('readSettings', () => {
  it('takes a flag over the environment over the default', () => {
    expect(readSettings(spec, [], {}).values.port).toBe(8443);
    expect(readSettings(spec, [], { T_PORT: '9000' }).values.port).toBe(9000);
    expect(readSettings(spec, ['--port', '0'], { T_PORT: '9000' }).values.port).toBe(0);
  });

  it('reads booleans, ranges and repeated flags', () => {
    const { values } = readSettings(spec, ['--on', '--range', '20000-20999', '--cert', 'a', '--cert', 'b'], {});
    expect(values).toEqual({ port: 8443, range: [20000, 20999], on: true, certs: ['a', 'b'] });
    expect(readSettings(spec, [], { T_ON: 'true', T_CERTS: 'x, y' }).values).toMatchObject({ on: true, certs: ['x', 'y'] });
  });

  it('names the flag or variable of a bad value', () => {
    expect(() => readSettings(spec, ['--port', 'http'], {})).toThrow(/^--port: must be a port/);
    expect(() => readSettings(spec, [], { T_PORT: '70000' })).toThrow(/^T_PORT: must be a port/);
    expect(() => readSettings(spec, ['--range', '9-1'], {})).toThrow(/^--range: must be a port range/);
    expect(() => readSettings(spec, [], { T_ON: 'maybe' })).toThrow(/^T_ON: must be true or false/);
    expect(() => readSettings(spec, ['--nope'], {})).toThrow(UsageError);
    expect(() => readSettings(spec, ['--nope'], {})).toThrow(/--nope/);
  });
});

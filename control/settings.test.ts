import { describe, expect, it } from 'vitest';
import { readSettings } from '../protocol/settings.ts';
import { controlSettings, parseListen } from './settings.ts';

describe('control settings', () => {
  it('reads HOST:PORT, with port 0 and IPv6 allowed', () => {
    expect(parseListen('127.0.0.1:7400')).toEqual({ host: '127.0.0.1', port: 7400 });
    expect(parseListen('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListen('[::1]:8000')).toEqual({ host: '::1', port: 8000 });
    expect(() => parseListen('7400')).toThrow(/HOST:PORT/);
    expect(() => parseListen('localhost:99999')).toThrow(/port/);
  });

  it('defaults to 127.0.0.1:7400 and names the env var of a bad value', () => {
    expect(readSettings(controlSettings, [], {}).values.listen).toEqual({ host: '127.0.0.1', port: 7400 });
    expect(() => readSettings(controlSettings, [], { WHARF_CONTROL_LISTEN: 'nope' })).toThrow(/^WHARF_CONTROL_LISTEN: /);
    expect(() => readSettings(controlSettings, ['--listen', 'x:y'], {})).toThrow(/^--listen: /);
  });
});

import { describe, expect, it } from 'vitest';
import { parsers, readSettings } from '../protocol/settings.ts';
import { checkControlSettings, controlSettings, formatDuration, parseListen, parseMaxAge } from './settings.ts';

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

describe('retention settings', () => {
  it('reads durations for the metrics history and refuses raw longer than coarse', () => {
    const read = (argv: string[], env: Record<string, string> = {}) => readSettings(controlSettings, argv, env).values;
    expect(read([])).toMatchObject({ metricsRawRetentionMs: 24 * 3_600_000, metricsRetentionMs: 7 * 86_400_000 });
    expect(read(['--metrics-raw-retention', '36h'], { WHARF_METRICS_RETENTION: '30d' })).toMatchObject({ metricsRawRetentionMs: 36 * 3_600_000, metricsRetentionMs: 30 * 86_400_000 });
    expect(() => read([], { WHARF_METRICS_RETENTION: '7' })).toThrow(/^WHARF_METRICS_RETENTION: must be a duration/);
    expect(() => read(['--metrics-raw-retention', 'soon'])).toThrow(/^--metrics-raw-retention: /);
    expect(() => checkControlSettings(read(['--metrics-raw-retention', '8d']))).toThrow(/--metrics-raw-retention .*8d.* must not be longer than --metrics-retention .*7d/);
    expect(() => checkControlSettings(read(['--metrics-raw-retention', '7d']))).not.toThrow();
  });

  it('parses durations', () => {
    expect(parsers.duration('90s')).toBe(90_000);
    expect(parsers.duration('1d12h')).toBe(36 * 3_600_000);
    expect(parsers.duration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', '10', '5ms', '1x', '-1h', 'h']) expect(() => parsers.duration(bad), bad).toThrow(/duration/);
    expect(formatDuration(36 * 3_600_000)).toBe('36h');
  });

  it('reads snapshot retention: keep N and a max age, or off', () => {
    expect(readSettings(controlSettings, [], {}).values).toMatchObject({ snapshotKeep: 5, snapshotMaxAgeMs: 30 * 86_400_000 });
    expect(readSettings(controlSettings, ['--snapshot-keep', '2', '--snapshot-max-age', 'off'], {}).values).toMatchObject({ snapshotKeep: 2, snapshotMaxAgeMs: Infinity });
    expect(readSettings(controlSettings, [], { WHARF_SNAPSHOT_MAX_AGE: '12h' }).values.snapshotMaxAgeMs).toBe(12 * 3_600_000);
    expect(parseMaxAge('7d')).toBe(7 * 86_400_000);
    expect(() => readSettings(controlSettings, ['--snapshot-keep', '0'], {})).toThrow(/^--snapshot-keep: /);
    expect(() => readSettings(controlSettings, [], { WHARF_SNAPSHOT_MAX_AGE: 'soon' })).toThrow(/^WHARF_SNAPSHOT_MAX_AGE: .*or off/);
  });
});

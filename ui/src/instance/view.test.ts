import { describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../../protocol/app-config.ts';
import { appWords, countdown, idleSecondsNow, idleWords, isInstanceView, secondsLeft } from './view.ts';

describe('instance view between updates', () => {
  it('runs the idle clock only while the instance is quiet', () => {
    expect(idleSecondsNow({ status: 'idle', idleSeconds: 120 }, 3500)).toBe(123);
    expect(idleSecondsNow({ status: 'active', idleSeconds: 5 }, 2000)).toBe(7);
    expect(idleSecondsNow({ status: 'active', idleSeconds: 0 }, 9000)).toBe(0);
    expect(idleSecondsNow({ status: 'stopped', idleSeconds: null }, 9000)).toBeNull();
    expect(idleWords({ status: 'idle', idleSeconds: 3600 }, 300_000)).toBe('idle for 1h 5m');
    expect(idleWords({ status: 'active', idleSeconds: 0 }, 0)).toBe('in use');
    expect(idleWords({ status: 'queued', idleSeconds: null }, 0)).toBe('not running');
  });

  it('counts down to the idle stop', () => {
    const stopsAt = '2026-03-01T12:10:00.000Z';
    expect(secondsLeft(stopsAt, Date.parse('2026-03-01T12:05:49.500Z'))).toBe(251);
    expect(secondsLeft(stopsAt, Date.parse('2026-03-01T12:11:00Z'))).toBe(0);
    expect([251, 45, 0, 7200].map(countdown)).toEqual(['Stops in 4m 11s', 'Stops in 45s', 'Stopping now', 'Stops in 2h']);
  });

  it('describes the app from its config', () => {
    const https = parseAppConfig({ app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } });
    expect(appWords({ app: 'container', config: https })).toBe('container, HTTPS on port 8080');
    const jupyter = parseAppConfig({ app: 'jupyter', routing: { mode: 'https' } });
    expect(appWords({ app: 'jupyter', config: jupyter })).toBe('Jupyter, HTTPS on port 8888');
  });

  it('accepts only a view of the instance shown', () => {
    const config = parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' } });
    const view = { id: 'k1', status: 'active', links: { https: null, browser: null, endpoint: null, tcp: null }, config };
    expect(isInstanceView(view, 'k1')).toBe(true);
    expect(isInstanceView(view, 'k2')).toBe(false);
    expect(isInstanceView({ id: 'k1' }, 'k1')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { parseAppConfig } from '../../../protocol/app-config.ts';
import { INSTANCE_STATUSES } from '../../../protocol/instance-status.ts';
import { appWords, countdown, idleLimitWords, idleSecondsNow, idleWords, isInstanceView, isLive, secondsLeft } from './view.ts';

describe('instance view between updates', () => {
  it('runs the idle clock only while the instance is quiet', () => {
    const since = '2026-11-22T10:00:00.000Z';
    expect(idleSecondsNow({ idleSince: since, idleSeconds: 120 }, 3500)).toBe(123);
    expect(idleSecondsNow({ idleSince: since, idleSeconds: 5 }, 2000)).toBe(7);
    // A quiet period that has just begun counts on too (control sends no event per second).
    expect(idleSecondsNow({ idleSince: since, idleSeconds: 0 }, 9000)).toBe(9);
    expect(idleSecondsNow({ idleSince: null, idleSeconds: 0 }, 9000)).toBe(0);
    expect(idleSecondsNow({ idleSince: null, idleSeconds: null }, 9000)).toBeNull();
  });

  it('words the idle clock as time without activity, never "idle" beside an active status', () => {
    const since = '2026-11-22T10:00:00.000Z';
    // Quiet for 25 s but still `active` (control's idle window has not passed): no contradiction.
    expect(idleWords({ status: 'active', idleSince: since, idleSeconds: 20 }, 5_000)).toBe('no activity for 25s');
    expect(idleWords({ status: 'idle', idleSince: since, idleSeconds: 3600 }, 300_000)).toBe('no activity for 1h 5m');
    expect(idleWords({ status: 'active', idleSince: null, idleSeconds: 0 }, 0)).toBe('in use now');
    expect(idleWords({ status: 'starting', idleSince: null, idleSeconds: null }, 0)).toBe('not started yet');
    expect(idleWords({ status: 'stopped', idleSince: null, idleSeconds: null }, 0)).toBe('not running');
    expect(idleLimitWords(2)).toBe('Wharf stops it after 2h without activity.');
    expect(idleLimitWords(0.5)).toMatch(/after 30m without/);
  });

  it('is live (figures "now", addresses shown) only while the instance runs or is on its way', () => {
    expect(INSTANCE_STATUSES.filter(isLive)).toEqual(['queued', 'starting', 'active', 'idle']);
  });

  it('counts down to the idle stop from the seconds left when the view arrived', () => {
    const warning = { stopsAt: '2026-03-01T12:10:00.000Z', secondsLeft: 260 };
    expect(secondsLeft(warning, 0)).toBe(260);
    expect(secondsLeft(warning, 9_500)).toBe(251);
    expect(secondsLeft(warning, 300_000)).toBe(0);
    expect(secondsLeft(warning, -2_000)).toBe(260);
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

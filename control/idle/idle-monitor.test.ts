import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSettings } from '../../protocol/settings.ts';
import { apiFixture, type ApiFixture } from '../api/testing.ts';
import { controlSettings } from '../settings.ts';
import { testConfig, testSpec } from '../store/testing.ts';
import { IDLE_LIMIT_REASON, IdleMonitor } from './idle-monitor.ts';

/*
 * The idle monitor in process: samples through the real agent API, gateway deltas through the
 * real stats endpoint, the monitor's tick called by the test under the fixture's manual clock.
 */

const S = 1000;
const MIN = 60 * S;
const WINDOW_MS = MIN;
const WARNING_MS = 10 * MIN;

const emptyLatency = encodeIntoCompressedBase64(build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 2, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: false, useWebAssembly: false }));

describe('idle monitor (agent API and gateway stats in, status and idle clock out)', () => {
  let f: ApiFixture;
  let adminToken: string;
  let agentAuth: string;
  let gatewayKey: string;
  let instance: string;

  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: 3_600_000, tcpPorts: [21300, 21309], pollMs: 10 }, idle: { windowMs: WINDOW_MS, warningMs: WARNING_MS, tickMs: 0 } }, { start: Date.UTC(2025, 0, 1, 12) });
    const admin = await f.user('admin', { admin: true });
    adminToken = admin.token;
    gatewayKey = (await f.t.store.gateways.add('gw1')).key;
    instance = (await f.t.store.instances.create({ owner: admin.id, config: testConfig({ idle: { maxHours: 0.25 } }), spec: testSpec() })).id;
    agentAuth = (await f.agent(adminToken, 'a1', ['default'])).auth;
    expect((await agentCall('lease?wait=0')).json().instance).toBe(instance);
    const up = await agentCall(`instances/${instance}/endpoint`, { host: '127.0.0.1', port: 32768 });
    expect(up.json().status).toBe('active');
  });
  afterEach(() => f.close());

  const agentCall = (path: string, payload?: object) => f.control.app.inject({ method: 'POST', url: `/api/v1/agent/${path}`, headers: { authorization: agentAuth }, payload });
  const show = async () => (await f.call('GET', `/api/v1/instances/${instance}`, adminToken)).json();
  const consoleText = async () => JSON.stringify((await f.call('GET', `/api/v1/instances/${instance}/console`, adminToken)).json());

  /** `forMs` of 5 s agent samples (and gateway bytes per 5 s, when given), ticking every second. */
  async function run(forMs: number, sample: object, gatewayBytes = 0): Promise<void> {
    const end = f.t.clock.now + forMs;
    while (f.t.clock.now < end) {
      const res = await agentCall(`instances/${instance}/samples`, sample);
      expect(res.statusCode, res.body).toBe(200);
      if (gatewayBytes > 0) {
        const now = f.t.clock.now;
        const push = await f.control.app.inject({
          method: 'POST', url: '/api/v1/gateways/stats', headers: { authorization: `Bearer ${gatewayKey}` },
          payload: { deltas: [{ route: instance, instance, interval: { from: now - 5 * S, to: now }, requests: 0, codes: {}, bytesIn: gatewayBytes / 2, bytesOut: gatewayBytes / 2, latency: emptyLatency }] },
        });
        expect(push.json()).toEqual({ recorded: 1, late: 0, unknown: 0 });
      }
      for (let i = 0; i < 5 && f.t.clock.now < end; i++) {
        f.t.clock.advance(S);
        await f.control.idle.tick();
      }
    }
  }

  it('goes idle after a window, counts idleSeconds, warns ahead of the limit, then stops with "idle limit reached"', async () => {
    await run(30 * S, { cpuPercent: 80 });
    expect((await show()).idleSeconds).toBe(0);
    const quietStart = f.t.clock.now;
    await run(30 * S, { cpuPercent: 1, networkBytesPerS: 100 });
    let view = await show();
    expect(view).toMatchObject({ status: 'active', idleSeconds: 30, idleWarning: null });
    await run(30 * S, { cpuPercent: 1, networkBytesPerS: 100 });
    view = await show();
    expect(view).toMatchObject({ status: 'idle', idleSeconds: 60, statusReason: null, idleWarning: null });
    expect((await f.t.store.instances.get(instance))!.quietSince).toBe(quietStart);
    expect(await consoleText()).toContain('[wharf] idle since');

    // 15 min limit, warning 10 min ahead: at 5 min.
    await run(4 * MIN - 1 * S, { cpuPercent: 2 });
    expect((await show()).idleWarning).toBeNull();
    await run(1 * S, { cpuPercent: 2 });
    view = await show();
    const stopsAt = new Date(quietStart + 15 * MIN).toISOString();
    expect(view).toMatchObject({ status: 'idle', idleSeconds: 300, idleWarning: { stopsAt, secondsLeft: 600 }, statusReason: `idle: stops at ${stopsAt}` });
    expect(await consoleText()).toMatch(/idle warning: idle for 5 min, the idle limit \(15 min\) stops it at/);
    // The agent's heartbeat carries no stop yet.
    expect((await agentCall('heartbeat', {})).json().stop).toEqual([]);

    await run(10 * MIN - 1 * S, { cpuPercent: 2 });
    view = await show();
    expect(view).toMatchObject({ status: 'idle', idleSeconds: 899 });
    expect(view.idleWarning.secondsLeft).toBe(1);
    await run(1 * S, { cpuPercent: 2 });
    view = await show();
    expect(view).toMatchObject({ status: 'stopping', statusReason: IDLE_LIMIT_REASON, idleSeconds: null, idleWarning: null });
    expect(await consoleText()).toContain('idle limit reached: idle for 15 min (limit 15 min), stopping');
    expect((await agentCall('heartbeat', {})).json().stop).toEqual([instance]);
    // The audit log says who stopped it: the idle limit, not a user.
    const [stop] = await f.t.store.audit.list({ instance, action: 'instance.stop', limit: 5 });
    expect(stop).toMatchObject({ actor: null, actorName: 'idle limit', target: instance, detail: { from: 'idle', idleSeconds: 900 } });
  });

  it('never stops a busy instance (CPU over the threshold)', async () => {
    for (let k = 0; k < 8; k++) {
      await run(5 * MIN, { cpuPercent: 40, networkBytesPerS: 10 });
      const view = await show();
      expect(view).toMatchObject({ status: 'active', idleSeconds: 0, statusReason: null });
    }
  });

  it('keeps an instance with gateway traffic over networkMBps active with its CPU idle (WebSocket)', async () => {
    // 100 kB/s through the gateway, 0.05 MB/s the threshold: 40 min, over the 15 min limit.
    await run(40 * MIN, { cpuPercent: 0, networkBytesPerS: 0 }, 500_000);
    expect(await show()).toMatchObject({ status: 'active', idleSeconds: 0 });
    // Traffic stops: idle after a window, then it counts.
    await run(2 * MIN, { cpuPercent: 0, networkBytesPerS: 0 });
    const view = await show();
    expect(view.status).toBe('idle');
    expect(view.idleSeconds).toBeGreaterThanOrEqual(110);
  });

  it('turns active again on app activity, clearing the warning', async () => {
    await run(6 * MIN, { cpuPercent: 0, activityAt: f.t.clock.now - 60 * MIN });
    expect(await show()).toMatchObject({ status: 'idle', idleSeconds: 360, idleWarning: { secondsLeft: 540 } });
    await run(5 * S, { cpuPercent: 0, activityAt: f.t.clock.now });
    const view = await show();
    expect(view).toMatchObject({ status: 'active', statusReason: null, idleWarning: null });
    expect(view.idleSeconds).toBeLessThanOrEqual(5);
    expect(await consoleText()).toContain('[wharf] active again (app activity)');
  });

  it('leaves a status reason it did not set alone', async () => {
    await f.t.store.instances.setStatusReason(instance, 'agent offline');
    await run(6 * MIN, { cpuPercent: 0 });
    expect(await show()).toMatchObject({ status: 'idle', statusReason: 'agent offline', idleWarning: null });
    expect(await consoleText()).toContain('idle warning');
  });

  it('resumes the idle clock from the store after a control restart', async () => {
    await run(3 * MIN, { cpuPercent: 0 });
    const quietSince = (await f.t.store.instances.get(instance))!.quietSince;
    expect(quietSince).not.toBeNull();
    // A fresh monitor over the same store, as a restarted control has.
    const fresh = new IdleMonitor({ store: f.t.store, clock: f.t.clock.read, windowMs: WINDOW_MS, warningMs: WARNING_MS });
    fresh.sample(instance, { cpuPercent: 0 });
    await fresh.tick();
    expect(fresh.decision(instance)).toMatchObject({ quietSince, state: 'idle' });
    expect((await f.t.store.instances.get(instance))!).toMatchObject({ quietSince, status: 'idle' });
  });
});

describe('idle settings', () => {
  it('default to a 60 s window and a 600 s warning, and read flags and env', () => {
    expect(readSettings(controlSettings, [], {}).values).toMatchObject({ idleWindowS: 60, idleWarningS: 600 });
    expect(readSettings(controlSettings, ['--idle-window', '3'], { WHARF_IDLE_WARNING_S: '10' }).values).toMatchObject({ idleWindowS: 3, idleWarningS: 10 });
    expect(() => readSettings(controlSettings, [], { WHARF_IDLE_WINDOW_S: '0' })).toThrow(/^WHARF_IDLE_WINDOW_S: /);
  });
});

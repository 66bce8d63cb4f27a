import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlApp } from '../server.ts';
import { testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

function latency(valuesUs: number[]): string {
  const h = build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 2, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, autoResize: false, useWebAssembly: false });
  for (const v of valuesUs) h.recordValue(v);
  return encodeIntoCompressedBase64(h);
}

describe('metrics history API (gateway deltas, agent samples, query)', () => {
  let t: TempStore;
  let control: ControlApp;
  let adminToken: string;
  let userToken: string;
  let gatewayKey: string;
  let agentAuth: string;
  let instance: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: 30_000, tcpPorts: [21200, 21209], pollMs: 10 } }, { start: Date.UTC(2025, 0, 1, 12) }); // minute-aligned
    ({ t, control } = f);
    const admin = await f.user('admin', { admin: true });
    adminToken = admin.token;
    userToken = (await f.user('bob')).token;
    gatewayKey = (await t.store.gateways.add('gw1')).key;
    instance = (await t.store.instances.create({ owner: admin.id, config: testConfig({ queue: 'default' }), spec: testSpec() })).id;
    agentAuth = (await f.agent(adminToken, 'a1', ['default'])).auth;
    expect((await control.app.inject({ method: 'POST', url: '/api/v1/agent/lease?wait=0', headers: { authorization: agentAuth } })).json().instance).toBe(instance);
  });
  afterEach(() => f.close());

  const push = (payload: unknown, key = gatewayKey) =>
    control.app.inject({ method: 'POST', url: '/api/v1/gateways/stats', headers: { authorization: `Bearer ${key}` }, payload: payload as object });
  const delta = (route: string, from: number, valuesUs: number[], codes: Record<string, number>) => ({
    route, instance: route, interval: { from, to: from + 5_000 }, requests: valuesUs.length, codes,
    bytesIn: 10, bytesOut: 100, latency: latency(valuesUs),
  });

  it('records gateway deltas and agent samples, and the query returns them', async () => {
    const now = t.clock.now;
    const res = await push({ deltas: [
      delta(instance, now - 20_000, [1_000, 2_000, 3_000], { '200': 2, '502': 1 }),
      delta(instance, now - 15_000, [4_000], { '200': 1 }),
      delta('no-such-route', now - 20_000, [1_000], { '200': 1 }),
      delta(instance, now - 3_600_000, [1_000], { '200': 1 }),
    ] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ recorded: 2, late: 1, unknown: 1 });

    const sample = (payload: object) => control.app.inject({ method: 'POST', url: `/api/v1/agent/instances/${instance}/samples`, headers: { authorization: agentAuth }, payload });
    expect((await sample({ cpuPercent: 50, gpuPercent: 10, memoryBytes: 1000, networkBytesPerS: 200, at: now - 18_000 })).json()).toEqual({ recorded: true });
    expect((await sample({ cpuPercent: 150, memoryBytes: 3000, at: now - 12_000 })).json()).toEqual({ recorded: true });
    const bad = await sample({ gpuPercent: 120 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^gpuPercent:/);

    const q = await control.app.inject({ method: 'GET', url: `/api/v1/instances/${instance}/metrics?from=${now - 60_000}&to=${new Date(now).toISOString()}`, headers: { authorization: `Bearer ${adminToken}` } });
    expect(q.statusCode).toBe(200);
    const series = q.json();
    expect(series).toMatchObject({ instance, resolutionMs: 10_000, t: [now - 20_000], requests: [4], errors: [1], bytesIn: [20], bytesOut: [200] });
    expect(series.latencyMs.p50[0]).toBeCloseTo(2, 1);
    expect(series.latencyMs.p99[0]).toBeCloseTo(4, 1);
    expect(series.cpuPercent).toEqual([100]);
    expect(series.gpuPercent).toEqual([10]);
    expect(series.memoryBytes).toEqual([3000]);
    expect(series.networkBytesPerS).toEqual([200]);
  });

  it('refuses a malformed batch whole, naming the field, and wrong keys', async () => {
    const now = t.clock.now;
    const good = delta(instance, now - 20_000, [1_000], { '200': 1 });
    const res = await push({ deltas: [good, { ...good, codes: { '200': 2 } }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/^deltas\[1\]\.codes:/);
    const query = await control.app.inject({ method: 'GET', url: `/api/v1/instances/${instance}/metrics`, headers: { authorization: `Bearer ${adminToken}` } });
    expect(query.json().requests).toEqual([]);
    expect((await push({ deltas: 'x' })).json().error.message).toMatch(/^deltas:/);
    const wrong = await push({ deltas: [good] }, 'not-a-key');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('CTL_GATEWAY_KEY');
    // An API token is not a gateway key.
    expect((await push({ deltas: [good] }, adminToken)).statusCode).toBe(401);
    const badTime = await control.app.inject({ method: 'GET', url: `/api/v1/instances/${instance}/metrics?from=yesterday`, headers: { authorization: `Bearer ${adminToken}` } });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().error.message).toMatch(/^from:/);
  });

  it('refuses another user\'s instance metrics with a 404', async () => {
    const res = await control.app.inject({ method: 'GET', url: `/api/v1/instances/${instance}/metrics`, headers: { authorization: `Bearer ${userToken}` } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('CTL_NOT_FOUND');
  });
});

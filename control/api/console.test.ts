import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlApp } from '../server.ts';
import { testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { apiFixture, followEvents, type ApiFixture } from './testing.ts';

describe('instance console (JSON, ownership, live follow over a real socket)', () => {
  let t: TempStore;
  let control: ControlApp;
  let adminToken: string;
  let userToken: string;
  let ownerId: string;
  let instance: string;
  let agentAuth: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture({ agents: { leaseMs: 30_000, tcpPorts: [21100, 21109], pollMs: 10 } });
    ({ t, control } = f);
    ({ id: ownerId, token: adminToken } = await f.user('admin', { admin: true }));
    userToken = (await f.user('bob')).token;
    instance = (await t.store.instances.create({ owner: ownerId, config: testConfig({ queue: 'default' }), spec: testSpec() })).id;
    agentAuth = (await f.agent(adminToken, 'a1', ['default'])).auth;
    const lease = await control.app.inject({ method: 'POST', url: '/api/v1/agent/lease?wait=0', headers: { authorization: agentAuth } });
    expect(lease.json().instance).toBe(instance);
  });
  afterEach(() => f.close());

  const api = (method: 'GET' | 'POST', url: string, token: string, payload?: object, headers: Record<string, string> = {}) => f.call(method, url, token, payload, headers);
  const append = async (...texts: string[]) => {
    const res = await control.app.inject({ method: 'POST', url: `/api/v1/agent/instances/${instance}/console`, headers: { authorization: agentAuth }, payload: { lines: texts.map((text) => ({ text, stream: 'stdout' })) } });
    expect(res.statusCode).toBe(200);
    return res.json().seq as number;
  };

  it('answers the lines since a seq as JSON, with limit and last', async () => {
    expect(await append('one', 'two', 'three')).toBe(3);
    const all = await api('GET', `/api/v1/instances/${instance}/console`, adminToken);
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ instance, last: 3, lines: [{ seq: 1, text: 'one', stream: 'stdout' }, { seq: 2, text: 'two' }, { seq: 3, text: 'three' }] });
    expect(all.json().lines[0].at).toBe(new Date(t.clock.now).toISOString());
    const after = (await api('GET', `/api/v1/instances/${instance}/console?since=2`, adminToken)).json();
    expect(after.lines.map((l: { text: string }) => l.text)).toEqual(['three']);
    const none = (await api('GET', `/api/v1/instances/${instance}/console?since=3`, adminToken)).json();
    expect(none).toEqual({ instance, lines: [], last: 3 });
    const limited = (await api('GET', `/api/v1/instances/${instance}/console?limit=1`, adminToken)).json();
    expect(limited).toMatchObject({ last: 1, lines: [{ text: 'one' }] });
    const bad = await api('GET', `/api/v1/instances/${instance}/console?since=-1`, adminToken);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^since:/);
  });

  it('refuses another user\'s instance with a 404, and no token with a 401', async () => {
    await append('secret line');
    for (const url of [`/api/v1/instances/${instance}/console`, `/api/v1/instances/${instance}/console?follow=1`]) {
      const res = await api('GET', url, userToken);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('CTL_NOT_FOUND');
      expect(res.body).not.toContain('secret line');
    }
    expect((await control.app.inject({ method: 'GET', url: `/api/v1/instances/${instance}/console` })).statusCode).toBe(401);
  });

  const follow = async (port: number, query: string, headers: Record<string, string> = {}) => {
    const f = await followEvents(port, `/api/v1/instances/${instance}/console${query}`, { authorization: `Bearer ${adminToken}`, ...headers });
    return { ...f, events: f.events as unknown as { id: string; data: { seq: number; text: string } }[] };
  };

  it('ends a follower\'s stream once the instance is no longer shared with them', async () => {
    await control.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (control.app.server.address() as AddressInfo).port;
    const bob = (await t.store.users.getByName('bob'))!;
    await t.store.shares.set(instance, bob.id, 'viewer', ownerId);
    await append('shared line');
    const followed = await follow(port, '?follow=1', { authorization: `Bearer ${userToken}` });
    expect(followed.res.statusCode).toBe(200);
    await followed.waitFor(1);
    expect(followed.events[0].data.text).toBe('shared line');
    const ended = new Promise((r) => followed.res.once('end', r));
    expect((await f.call('DELETE', `/api/v1/instances/${instance}/shares/bob`, adminToken)).statusCode).toBe(204);
    await ended; // within the credential check's 2 s
    await append('after the revocation');
    expect(followed.events.map((e) => e.data.text)).toEqual(['shared line']);
  });

  it('follows live as server-sent events and resumes from Last-Event-ID', async () => {
    await control.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (control.app.server.address() as AddressInfo).port;
    await append('before 1', 'before 2');

    const f = await follow(port, '?follow=1&since=1');
    expect(f.res.statusCode).toBe(200);
    expect(f.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await f.waitFor(1);
    expect(f.events[0]).toEqual({ event: 'message', id: '2', data: expect.objectContaining({ seq: 2, text: 'before 2' }) });
    await new Promise((r) => setTimeout(r, 50));
    expect(control.consoleFeed.followers).toBe(1);

    await append('live 3');
    await f.waitFor(2);
    expect(f.events[1]).toEqual({ event: 'message', id: '3', data: expect.objectContaining({ text: 'live 3' }) });
    await append('live 4', 'live 5');
    await f.waitFor(4);
    expect(f.events.map((e) => e.id)).toEqual(['2', '3', '4', '5']);
    f.close();

    // Missed while away: a reconnect with Last-Event-ID gets exactly the lines after it.
    await append('missed 6');
    const again = await follow(port, '?follow=1&since=0', { 'last-event-id': '4' });
    await again.waitFor(2);
    expect(again.events.map((e) => e.data.text)).toEqual(['live 5', 'missed 6']);
    await append('live 7');
    await again.waitFor(3);
    expect(again.events[2].id).toBe('7');
    expect(control.consoleFeed.followers).toBe(1);
    // Control closing ends the stream rather than waiting on it.
    const ended = new Promise((r) => again.res.once('end', r));
    await control.app.close();
    await ended;
    expect(control.consoleFeed.followers).toBe(0);
  });
});

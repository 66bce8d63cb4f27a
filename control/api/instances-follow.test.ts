import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, followEvents, type ApiFixture } from './testing.ts';

/* The dashboard's live list and live instance: server-sent events over a real socket. */

const ORIGIN = 'https://wharf.test:8443';
const config = (queue: string) => ({ app: 'container', image: 'wharf/busybox:local', queue, routing: { mode: 'https', port: 8080 } });

describe('following instances (server-sent events)', () => {
  let f: ApiFixture;
  let admin: string;
  let bob: string;
  let port: number;

  beforeEach(async () => {
    f = await apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' } });
    admin = (await f.user('admin', { admin: true })).token;
    bob = (await f.user('bob')).token;
    await f.control.app.listen({ host: '127.0.0.1', port: 0 });
    port = (f.control.app.server.address() as AddressInfo).port;
  });
  afterEach(() => f.close());

  const launch = async (token: string, queue: string) => {
    const res = await f.call('POST', '/api/v1/instances', token, config(queue));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const ids = (data: unknown) => (data as { instances: { id: string; status: string }[] }).instances.map((i) => `${i.id}:${i.status}`);

  it('sends the filtered list at once and again only when it changes, each user seeing their own', async () => {
    const a = await launch(bob, 'a');
    await launch(bob, 'b');
    await launch(admin, 'a');
    const list = await followEvents(port, '/api/v1/instances?follow=1&queue=a', { authorization: `Bearer ${bob}` });
    expect(list.res.statusCode).toBe(200);
    expect(list.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await list.waitFor(1);
    expect(list.events[0].event).toBe('instances');
    expect(ids(list.events[0].data)).toEqual([`${a}:queued`]);

    // Nothing changed for a while: no second event.
    await new Promise((r) => setTimeout(r, 2_200));
    expect(list.events).toHaveLength(1);

    const a2 = await launch(bob, 'a');
    await list.waitFor(2);
    expect(ids(list.events[1].data).sort()).toEqual([`${a}:queued`, `${a2}:queued`].sort());
    expect((await f.call('POST', `/api/v1/instances/${a}/stop`, bob)).statusCode).toBe(200);
    await list.waitFor(3);
    expect(ids(list.events[2].data)).toContain(`${a}:stopped`);
    list.close();
  });

  it('follows one instance, refuses another user\'s, names a bad query parameter, and ends with its credentials', async () => {
    const id = await launch(bob, 'default');
    const one = await followEvents(port, `/api/v1/instances/${id}?follow=1`, { authorization: `Bearer ${admin}` });
    await one.waitFor(1);
    expect(one.events[0]).toMatchObject({ event: 'instance', data: { id, status: 'queued' } });
    await f.call('POST', `/api/v1/instances/${id}/stop`, admin);
    await one.waitFor(2);
    expect(one.events[1].data).toMatchObject({ id, status: 'stopped' });

    const carol = (await f.user('carol')).token;
    const refused = await f.call('GET', `/api/v1/instances/${id}?follow=1`, carol);
    expect(refused.statusCode).toBe(404);
    const bad = await f.call('GET', '/api/v1/instances?follow=yes', bob);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^follow:/);

    // A revoked token ends the streams it opened (a signed-out session does the same).
    const bobId = (await f.t.store.users.getByName('bob'))!.id;
    const [bobToken] = await f.t.store.apiTokens.list(bobId);
    const list = await followEvents(port, '/api/v1/instances?follow=1', { authorization: `Bearer ${bob}` });
    await list.waitFor(1);
    const listEnded = new Promise((r) => list.res.once('end', r));
    await f.t.store.apiTokens.revoke(bobToken.id);
    await listEnded;
    expect((await f.call('GET', '/api/v1/instances?follow=1', bob)).statusCode).toBe(401);

    // Control closing ends open streams instead of waiting on them.
    const ended = new Promise((r) => one.res.once('end', r));
    await f.control.app.close();
    await ended;
  });

  it('sends no event for idle time the clock alone moves, but one for a new quiet period', async () => {
    const id = await launch(bob, 'default');
    const agent = await f.agent(admin, 'a1', ['default']);
    const lease = await f.control.app.inject({ method: 'POST', url: '/api/v1/agent/lease?wait=0', headers: { authorization: agent.auth } });
    expect(lease.json().instance).toBe(id);
    await f.t.store.instances.updateStatus(id, 'active', null);
    const quietSince = f.t.clock.now;
    await f.t.store.instances.setQuietSince(id, quietSince);
    const one = await followEvents(port, `/api/v1/instances/${id}?follow=1`, { authorization: `Bearer ${bob}` });
    await one.waitFor(1);
    expect(one.events[0].data).toMatchObject({ status: 'active', idleSeconds: 0, idleSince: new Date(quietSince).toISOString() });
    f.t.clock.now += 5_000; // the idle clock moves; nothing else does
    await new Promise((r) => setTimeout(r, 2_500));
    expect(one.events).toHaveLength(1);
    await f.t.store.instances.setQuietSince(id, null); // busy again
    await one.waitFor(2);
    expect(one.events[1].data).toMatchObject({ idleSeconds: 0, idleSince: null });
    one.close();
  });

  it('ends a signed-in page\'s stream when its session is signed out, and a demoted admin\'s', async () => {
    await f.user('dora', { admin: true, password: 'dora-password' });
    const login = await f.call('POST', '/api/v1/auth/login', undefined, { name: 'dora', password: 'dora-password' }, { origin: ORIGIN });
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    const page = await followEvents(port, '/api/v1/instances?follow=1', { cookie });
    await page.waitFor(1);
    const ended = new Promise((r) => page.res.once('end', r));
    expect((await f.call('POST', '/api/v1/auth/logout', undefined, undefined, { cookie, origin: ORIGIN })).statusCode).toBe(204);
    await ended;

    // An admin's stream shows everyone's instances: it ends when they stop being one.
    await launch(bob, 'default');
    const adminList = await followEvents(port, '/api/v1/instances?follow=1', { authorization: `Bearer ${admin}` });
    await adminList.waitFor(1);
    expect(ids(adminList.events[0].data)).toHaveLength(1);
    const demoted = new Promise((r) => adminList.res.once('end', r));
    expect((await f.call('PATCH', '/api/v1/users/admin', admin, { admin: false })).statusCode).toBe(200);
    await demoted;
    const mine = await f.call('GET', '/api/v1/instances', admin);
    expect(mine.json().instances).toEqual([]);
  });
});

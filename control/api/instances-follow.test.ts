import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, followEvents, type ApiFixture } from './testing.ts';

/* The dashboard's live list and live instance: server-sent events over a real socket. */

const config = (queue: string) => ({ app: 'container', image: 'wharf/busybox:local', queue, routing: { mode: 'https', port: 8080 } });

describe('following instances (server-sent events)', () => {
  let f: ApiFixture;
  let admin: string;
  let bob: string;
  let port: number;

  beforeEach(async () => {
    f = apiFixture();
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
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends } from '../store-backends.ts';
import { type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name agents', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('add an agent with a key and a secret that verify together', async () => {
    const { agent, secret } = await t.store.agents.add({ name: 'host-1', queues: ['gpu', 'default'] });
    expect(agent).toMatchObject({ name: 'host-1', queues: ['gpu', 'default'], state: 'new', lastSeen: null, drain: false, resources: null });
    expect(agent.id).toMatch(/^a-[a-z0-9]{8}$/);
    expect(secret).toMatch(/^[a-z0-9]{40}$/);
    expect(await t.store.agents.verify(agent.key, secret)).toEqual(agent);
    expect(await t.store.agents.verify(agent.key, secret.slice(1))).toBeUndefined();
    expect(await t.store.agents.verify('nope', secret)).toBeUndefined();
  });

  it('record heartbeats: last seen, online, reported queues and resources', async () => {
    const { agent } = await t.store.agents.add({ name: 'host-1' });
    t.clock.advance(5_000);
    const seen = await t.store.agents.heartbeat(agent.id, { queues: ['a', 'b'], resources: { cpus: 16, memory: 128 * 2 ** 30 } });
    expect(seen).toMatchObject({ state: 'online', lastSeen: t.clock.now, queues: ['a', 'b'], resources: { cpus: 16, memory: 128 * 2 ** 30 } });
    t.clock.advance(5_000);
    const again = await t.store.agents.heartbeat(agent.id);
    expect(again).toMatchObject({ lastSeen: t.clock.now, queues: ['a', 'b'], resources: { cpus: 16 } });
    await expect(t.store.agents.heartbeat('a-missing')).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });

  it('set the state and the drain flag, and list agents', async () => {
    const { agent } = await t.store.agents.add({ name: 'b-host' });
    await t.store.agents.add({ name: 'a-host' });
    await t.store.agents.setState(agent.id, 'offline');
    await t.store.agents.setDrain(agent.id, true);
    expect(await t.store.agents.get(agent.id)).toMatchObject({ state: 'offline', drain: true });
    expect((await t.store.agents.list()).map((a) => a.name)).toEqual(['a-host', 'b-host']);
  });
});

describe.each(backends)('$name gateways', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('add a gateway whose key verifies until it is removed', async () => {
    const { gateway, key } = await t.store.gateways.add('edge-1');
    expect(key).toMatch(new RegExp(`^wharfgw_${gateway.id}_[a-z0-9]{40}$`));
    expect(await t.store.gateways.verify(key)).toEqual(gateway);
    expect(await t.store.gateways.verify(key.slice(0, -1))).toBeUndefined();
    expect(await t.store.gateways.list()).toEqual([gateway]);
    expect(await t.store.gateways.remove(gateway.id)).toBe(true);
    expect(await t.store.gateways.verify(key)).toBeUndefined();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLaunchSpec } from '../../protocol/launch-spec.ts';
import type { Instance, Store } from '../store/store.ts';
import { storeBackends } from '../store/store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../store/testing.ts';
import { PortPinner, type StoredEndpoint } from './endpoint-routes.ts';

const RANGE: [number, number] = [20000, 20009];

describe.each(storeBackends())('TCP gateway ports pinned on $name', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  /** `n` TCP apps started by one agent, ready for their endpoint reports. */
  async function tcpApps(n: number): Promise<{ instances: Instance[]; agent: string }> {
    const owner = await t.store.users.add({ name: `u${Math.random().toString(36).slice(2, 8)}`, password: 'x' });
    const { agent } = await t.store.agents.add({ name: 'host' });
    const spec = parseLaunchSpec({ ...testSpec(), ports: [{ port: 6379, routing: 'tcp' }], readiness: { kind: 'tcp', port: 6379 } });
    const instances: Instance[] = [];
    for (let i = 0; i < n; i++) {
      const instance = await t.store.instances.create({ owner: owner.id, config: testConfig(), spec });
      await t.store.jobs.lease(agent.id, ['default'], 60_000, t.clock.now);
      instances.push(instance);
    }
    return { instances, agent: agent.id };
  }

  const report = (store: Store, agent: string) => (instance: Instance) => (port: number) => {
    const endpoint: StoredEndpoint = { host: '10.0.0.2', port: 6379, routing: 'tcp', containerPort: 6379, gatewayPort: port };
    return store.instances.setEndpoint(instance.id, endpoint as unknown as Record<string, unknown>, { agent });
  };

  it('gives each app its own port when two controls pin at the same moment, and the same port on every report', async () => {
    const { instances, agent } = await tcpApps(8);
    const other = await t.openAnother();
    const pinners = [new PortPinner(t.store, RANGE), new PortPinner(other, RANGE)];
    const stores = [t.store, other];
    const pinned = await Promise.all(instances.map((instance, i) => pinners[i % 2].pin(instance, report(stores[i % 2], agent)(instance))));
    const ports = pinned.map((p) => (p.endpoint as unknown as StoredEndpoint).gatewayPort);
    expect(new Set(ports).size).toBe(8);
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(20000);
    // A later report of the same app keeps its port.
    const again = await pinners[1].pin(pinned[0], report(other, agent)(pinned[0]));
    expect((again.endpoint as unknown as StoredEndpoint).gatewayPort).toBe(ports[0]);
  });

  it('picks again when another control took the port between its look and its write', async () => {
    const { instances: [mine, theirs], agent } = await tcpApps(2);
    const other = await t.openAnother();
    let first: number | undefined;
    const pinned = await new PortPinner(t.store, RANGE).pin(mine, async (port) => {
      if (first === undefined) {
        first = port;
        await report(other, agent)(theirs)(port); // the other control pins it first
      }
      return report(t.store, agent)(mine)(port);
    });
    expect((pinned.endpoint as unknown as StoredEndpoint).gatewayPort).not.toBe(first);
    expect(((await t.store.instances.get(theirs.id))!.endpoint as unknown as StoredEndpoint).gatewayPort).toBe(first);
  });

  it('says so when every port of the range is pinned', async () => {
    const { instances, agent } = await tcpApps(11);
    const pinner = new PortPinner(t.store, RANGE);
    for (const instance of instances.slice(0, 10)) await pinner.pin(instance, report(t.store, agent)(instance));
    await expect(pinner.pin(instances[10], report(t.store, agent)(instances[10]))).rejects.toMatchObject({ code: 'CTL_NO_TCP_PORT' });
  });
});

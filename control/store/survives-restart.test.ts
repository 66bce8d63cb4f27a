import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStore, testConfig, testSpec, type TempStore } from './testing.ts';

const LEASE_MS = 30_000;

describe('the SQLite store across a control restart', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('keeps users, tokens, agents, gateways, instances, queues, leases, snapshots and console lines', async () => {
    t = tempStore();
    let s = t.store;
    const ada = await s.users.add({ name: 'ada', password: 'pw', admin: true });
    const { token, apiToken } = await s.apiTokens.create(ada.id, 'cli');
    const { agent, secret } = await s.agents.add({ name: 'host', queues: ['default'] });
    await s.agents.heartbeat(agent.id, { resources: { cpus: 2 } });
    const { gateway, key } = await s.gateways.add('edge');
    const running = await s.instances.create({ owner: ada.id, config: testConfig({ name: 'runs', tags: ['t'] }), spec: testSpec() });
    const leased = await s.instances.create({ owner: ada.id, config: testConfig({ name: 'leased' }), spec: testSpec() });
    const waiting = await s.instances.create({ owner: ada.id, config: testConfig({ name: 'waits' }), spec: testSpec() });
    await s.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now);
    await s.instances.updateStatus(running.id, 'active', null, { agent: agent.id });
    await s.instances.setEndpoint(running.id, { host: '127.0.0.1', port: 32768 }, { agent: agent.id });
    const lease = await s.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now);
    const snapshot = await s.snapshots.add({ instance: running.id, owner: ada.id, sha256: 'c'.repeat(64), size: 9, path: 'b/1' });
    await s.console.append(running.id, [{ text: 'ready' }]);
    const before = {
      instances: await s.instances.list(), users: await s.users.list(), tokens: await s.apiTokens.list(ada.id),
      agents: await s.agents.list(), gateways: await s.gateways.list(), depths: await s.jobs.depths(),
    };

    s = await t.reopen();

    expect(await s.instances.list()).toEqual(before.instances);
    expect(await s.users.list()).toEqual(before.users);
    expect(await s.apiTokens.list(ada.id)).toEqual(before.tokens);
    expect(await s.agents.list()).toEqual(before.agents);
    expect(await s.gateways.list()).toEqual(before.gateways);
    expect(await s.jobs.depths()).toEqual(before.depths);
    expect(await s.users.verifyPassword('ada', 'pw')).toEqual(ada);
    expect((await s.apiTokens.verify(token))?.id).toBe(ada.id);
    expect((await s.agents.verify(agent.key, secret))?.id).toBe(agent.id);
    expect(await s.gateways.verify(key)).toEqual(gateway);
    expect(await s.jobs.get(leased.id)).toEqual(lease);
    expect(await s.snapshots.get(snapshot.id)).toEqual(snapshot);
    expect((await s.console.since(running.id, 0)).map((l) => l.text)).toEqual(['ready']);
    expect(apiToken.revoked).toBeNull();

    // The queue goes on where it was: the lease still runs out, and the waiting job comes next.
    await s.jobs.assertHolder(agent.id, leased.id, t.clock.now);
    expect((await s.jobs.expire(t.clock.advance(LEASE_MS))).map((j) => j.instance)).toEqual([leased.id]);
    expect((await s.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now))?.instance).toBe(leased.id);
    expect((await s.jobs.lease(agent.id, ['default'], LEASE_MS, t.clock.now))?.instance).toBe(waiting.id);
  });

  it('keeps what was committed when control is killed without closing', async () => {
    t = tempStore();
    await t.store.close();
    const open = new URL('./sqlite/open.ts', import.meta.url).href;
    const script = `
      import { openSqliteStore } from ${JSON.stringify(open)};
      const store = openSqliteStore({ file: ${JSON.stringify(t.file)}, clock: () => 1, scryptCost: { N: 1024, r: 8, p: 1 } });
      await store.users.add({ name: 'kept', password: 'pw' });
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const s = await t.reopen();
    expect((await s.users.verifyPassword('kept', 'pw'))?.name).toBe('kept');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name instance shares', ({ open }) => {
  let t: TestStore;
  let ada: User;
  let bob: User;
  let cy: User;
  beforeEach(async () => {
    t = await open();
    [ada, bob, cy] = await Promise.all(['ada', 'bob', 'cy'].map((name) => t.store.users.add({ name, password: `${name}-password` })));
  });
  afterEach(() => t.cleanup());

  const launch = (owner: string) => t.store.instances.create({ owner, config: testConfig(), spec: testSpec() });

  it('shares, changes the role keeping the first date and sharer, lists and revokes, seen by every store on the database', async () => {
    const i = await launch(ada.id);
    const created = t.clock.now;
    expect(await t.store.shares.set(i.id, bob.id, 'viewer', ada.id)).toEqual({ instance: i.id, user: bob.id, role: 'viewer', created, by: ada.id });
    t.clock.advance(1_000);
    await t.store.shares.set(i.id, cy.id, 'user', ada.id);
    expect(await t.store.shares.set(i.id, bob.id, 'user', cy.id)).toEqual({ instance: i.id, user: bob.id, role: 'user', created, by: ada.id });
    const other = await t.openAnother();
    expect((await other.shares.list(i.id)).map((s) => [s.user, s.role])).toEqual([[bob.id, 'user'], [cy.id, 'user']]);
    expect(await other.shares.remove(i.id, bob.id)).toBe(true);
    expect(await t.store.shares.remove(i.id, bob.id)).toBe(false);
    expect(await t.store.shares.get(i.id, bob.id)).toBeUndefined();
    expect(await t.store.shares.get(i.id, cy.id)).toMatchObject({ role: 'user' });
  });

  it('lists a user\'s own instances and those shared with them, nobody else\'s', async () => {
    const mine = await launch(bob.id);
    t.clock.advance(1);
    const shared = await launch(ada.id);
    t.clock.advance(1);
    await launch(ada.id); // not shared
    await t.store.shares.set(shared.id, bob.id, 'viewer', ada.id);
    await t.store.shares.set(mine.id, cy.id, 'user', bob.id);
    expect((await t.store.instances.list({ visibleTo: bob.id })).map((i) => i.id)).toEqual([shared.id, mine.id]);
    expect(await t.store.instances.count({ visibleTo: bob.id, status: 'queued' })).toBe(2);
    expect((await t.store.instances.list({ visibleTo: cy.id })).map((i) => i.id)).toEqual([mine.id]);
    expect((await t.store.instances.list({ visibleTo: ada.id })).map((i) => i.id)).not.toContain(mine.id);
  });

  it('refuses a role it does not know, and goes with its instance', async () => {
    const i = await t.store.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });
    const sql = await t.sql();
    await expect(sql.run('INSERT INTO instance_shares (instance, "user", role, created, by) VALUES (?, ?, ?, ?, ?)', i.id, bob.id, 'owner', 0, ada.id)).rejects.toThrow();
    await t.store.shares.set(i.id, bob.id, 'viewer', ada.id);
    await t.store.instances.updateStatus(i.id, 'stopped', null);
    await t.store.instances.remove(i.id, { snapshots: true });
    expect(await sql.get('SELECT 1 AS x FROM instance_shares WHERE instance = ?', i.id)).toBeUndefined();
  });
});

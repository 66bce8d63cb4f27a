import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlError } from '../../errors.ts';
import type { User } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name projects and members', ({ open }) => {
  let t: TestStore;
  let ada: User;
  let bob: User;
  beforeEach(async () => {
    t = await open();
    [ada, bob] = await Promise.all(['ada', 'bob'].map((name) => t.store.users.add({ name, password: `${name}-password` })));
  });
  afterEach(() => t.cleanup());

  it('adds projects once, by name, and members with a role that can change, seen by every store on the database', async () => {
    const created = t.clock.now;
    expect(await t.store.projects.add('ML')).toEqual({ name: 'ML', created });
    await t.store.projects.add('Data eng');
    const taken = await t.store.projects.add('ML').catch((err: unknown) => err);
    expect(taken).toBeInstanceOf(ControlError);
    expect((taken as ControlError).code).toBe('CTL_PROJECT_EXISTS');
    expect(await t.store.projects.setMember('ML', bob.id, 'viewer', ada.id)).toEqual({ project: 'ML', user: bob.id, role: 'viewer', added: created, by: ada.id });
    t.clock.advance(1_000);
    await t.store.projects.setMember('ML', bob.id, 'owner', bob.id);
    await t.store.projects.setMember('Data eng', bob.id, 'user', ada.id);
    const other = await t.openAnother();
    expect((await other.projects.list()).map((p) => p.name)).toEqual(['Data eng', 'ML']);
    expect(await other.projects.getMember('ML', bob.id)).toEqual({ project: 'ML', user: bob.id, role: 'owner', added: created, by: ada.id });
    expect((await other.projects.memberships(bob.id)).map((m) => `${m.project}:${m.role}`)).toEqual(['Data eng:user', 'ML:owner']);
    expect((await other.projects.members('ML')).map((m) => m.user)).toEqual([bob.id]);
    expect(await other.projects.removeMember('ML', bob.id)).toBe(true);
    expect(await t.store.projects.removeMember('ML', bob.id)).toBe(false);
    expect(await t.store.projects.members('ML')).toEqual([]);
  });

  it('lists to a member the instances of their projects, and refuses a member of no project or an unknown role', async () => {
    await t.store.projects.add('ML');
    const i = await t.store.instances.create({ owner: ada.id, config: testConfig({ project: 'ML' }), spec: testSpec() });
    expect(await t.store.instances.list({ visibleTo: bob.id })).toEqual([]);
    await t.store.projects.setMember('ML', bob.id, 'viewer', ada.id);
    expect((await t.store.instances.list({ visibleTo: bob.id })).map((x) => x.id)).toEqual([i.id]);
    await expect(t.store.projects.setMember('nope', bob.id, 'user', ada.id)).rejects.toThrow();
    const sql = await t.sql();
    await expect(sql.run('INSERT INTO project_members (project, "user", role, added) VALUES (?, ?, ?, ?)', 'ML', ada.id, 'admin', 0)).rejects.toThrow();
  });
});

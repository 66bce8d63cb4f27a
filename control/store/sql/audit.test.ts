import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyStore } from '../copy.ts';
import { storeBackends } from '../store-backends.ts';
import { tempStore, testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name audit log', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  const entry = (action: string, more: { actor?: string | null; actorName?: string | null; target?: string | null; instance?: string | null; project?: string | null; at?: number } = {}) => ({
    actor: 'u1', actorName: 'alice', action, target: null, instance: null, project: null, detail: {}, ...more,
  });

  it('appends entries with growing seqs, the clock\'s time and the detail as given, read newest first by every store on the database', async () => {
    const now = t.clock.read();
    const first = await t.store.audit.add({ ...entry('signin'), detail: { method: 'password', ok: true, n: 3 } });
    expect(first).toEqual({ seq: first.seq, at: now, actor: 'u1', actorName: 'alice', action: 'signin', target: null, instance: null, project: null, detail: { method: 'password', ok: true, n: 3 } });
    t.clock.advance(1_000);
    const second = await t.store.audit.add(entry('instance.launch', { instance: 'i1', target: 'i1' }));
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second.at).toBe(now + 1_000);
    const other = await t.openAnother();
    expect((await other.audit.list({ limit: 10 })).map((e) => e.action)).toEqual(['instance.launch', 'signin']);
  });

  it('filters by time, actor name, instance and action, and pages with before', async () => {
    const start = t.clock.read();
    await t.store.audit.add(entry('signin', { at: start }));
    await t.store.audit.add(entry('instance.launch', { instance: 'i1', at: start + 10 }));
    await t.store.audit.add(entry('instance.stop', { actor: null, actorName: 'idle limit', instance: 'i1', at: start + 20 }));
    await t.store.audit.add(entry('instance.launch', { actor: 'u2', actorName: 'bob', instance: 'i2', at: start + 30 }));
    const actions = async (filter: Parameters<typeof t.store.audit.list>[0]) => (await t.store.audit.list(filter)).map((e) => `${e.actorName}:${e.action}:${e.instance ?? '-'}`);
    expect(await actions({ instance: 'i1', limit: 10 })).toEqual(['idle limit:instance.stop:i1', 'alice:instance.launch:i1']);
    expect(await actions({ actorName: 'bob', limit: 10 })).toEqual(['bob:instance.launch:i2']);
    expect(await actions({ action: 'instance.launch', limit: 10 })).toEqual(['bob:instance.launch:i2', 'alice:instance.launch:i1']);
    expect(await actions({ since: start + 10, until: start + 30, limit: 10 })).toEqual(['idle limit:instance.stop:i1', 'alice:instance.launch:i1']);
    const page1 = await t.store.audit.list({ limit: 3 });
    expect(page1).toHaveLength(3);
    const page2 = await t.store.audit.list({ limit: 3, before: page1.at(-1)!.seq });
    expect(page2.map((e) => e.action)).toEqual(['signin']);
  });

  it('files an instance\'s entries under its project, kept after the instance is gone, and filters by project', async () => {
    const ada = await t.store.users.add({ name: 'ada', password: 'ada-password' });
    await t.store.projects.add('ML');
    const i = await t.store.instances.create({ owner: ada.id, config: { ...testConfig(), project: 'ML' }, spec: testSpec() });
    await t.store.audit.add(entry('instance.launch', { instance: i.id, target: i.id }));
    await t.store.audit.add(entry('member.add', { target: 'bob', project: 'ML' }));
    await t.store.audit.add(entry('signin'));
    await t.store.instances.updateStatus(i.id, 'stopped', null);
    await t.store.instances.remove(i.id, { snapshots: true });
    expect((await t.store.audit.list({ project: 'ML', limit: 10 })).map((e) => [e.action, e.project])).toEqual([['member.add', 'ML'], ['instance.launch', 'ML']]);
    expect(await t.store.audit.list({ project: 'Apps', limit: 10 })).toEqual([]);
  });

  it('sweeps what is older than the retention, and nothing else', async () => {
    const start = t.clock.read();
    await t.store.audit.add(entry('signin', { at: start - 5_000 }));
    await t.store.audit.add(entry('signin.failed', { at: start }));
    expect(await t.store.audit.sweep(start)).toBe(1);
    expect((await t.store.audit.list({ limit: 10 })).map((e) => e.action)).toEqual(['signin.failed']);
  });

  it('moves with wharf store copy, and the target goes on numbering after the copied entries', async () => {
    const source = tempStore();
    try {
      await source.store.audit.add(entry('signin'));
      const last = await source.store.audit.add(entry('user.add', { target: 'bob' }));
      const copied = await copyStore(await source.sql(), await t.sql());
      expect(copied.audit_log).toBe(2);
      expect((await t.store.audit.list({ limit: 10 })).map((e) => [e.seq, e.action, e.target])).toEqual([[last.seq, 'user.add', 'bob'], [last.seq - 1, 'signin', null]]);
      expect((await t.store.audit.add(entry('signin'))).seq).toBeGreaterThan(last.seq);
    } finally {
      await source.cleanup();
    }
  });
});

import { Readable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempStore, testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { BlobStore } from './blob-store.ts';
import { applySnapshotRetention, startSnapshotRetention } from './retention-runner.ts';

const H = 3_600_000;
const log = pino({ level: 'silent' });

describe('snapshot retention against the store and the blob store (injected clock)', () => {
  let t: TempStore;
  let blobs: BlobStore;
  let owner: string;

  beforeEach(async () => {
    t = tempStore();
    blobs = new BlobStore(join(t.dir, 'snapshots'));
    owner = (await t.store.users.add({ name: 'bob', password: 'bob-password' })).id;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const instance = async (restoreFrom: string | null = null) =>
    (await t.store.instances.create({ owner, config: testConfig({ workspace: { path: '/root/workspace', restoreFrom, exclude: [] } }), spec: testSpec() })).id;
  const snapshot = async (of: string, content: string) => {
    const blob = await blobs.write(Readable.from([Buffer.from(content)]), { maxBytes: 1024 });
    const s = await t.store.snapshots.add({ instance: of, owner, sha256: blob.sha256, size: blob.size, path: blob.path });
    t.clock.advance(H);
    return s;
  };
  const ids = async () => (await t.store.snapshots.list()).map((s) => s.id).sort();
  const deps = (keepLast: number, maxAgeMs = Infinity) => ({ store: t.store, blobs, clock: t.clock.read, log, policy: { keepLast, maxAgeMs } });

  it('deletes the rows and unreferenced blobs of the snapshots the policy drops, in a lineage of stopped instances', async () => {
    const a = await instance();
    const s1 = await snapshot(a, 'one');
    const s2 = await snapshot(a, 'shared');
    await t.store.instances.updateStatus(a, 'stopped', null);
    const b = await instance(a);
    const s3 = await snapshot(b, 'shared'); // the same blob as s2
    const s4 = await snapshot(b, 'four');
    await t.store.instances.updateStatus(b, 'stopped', null);

    const deleted = await applySnapshotRetention(deps(2));
    expect(deleted.sort()).toEqual([s1.id, s2.id].sort());
    expect(await ids()).toEqual([s3.id, s4.id].sort());
    expect(await blobs.has(s1.sha256)).toBe(false);
    expect(await blobs.has(s2.sha256)).toBe(true); // s3 still references it
    expect(await blobs.has(s4.sha256)).toBe(true);

    // Past the maximum age all but the lineage's newest go.
    t.clock.advance(100 * H);
    expect(await applySnapshotRetention(deps(10, 50 * H))).toEqual([s3.id]);
    expect(await ids()).toEqual([s4.id]);
    expect(await blobs.has(s2.sha256)).toBe(false);
  });

  it('keeps the snapshots of running instances and of an instance being restored from', async () => {
    const running = await instance();
    const r1 = await snapshot(running, 'r1');
    const r2 = await snapshot(running, 'r2');
    const src = await instance();
    const p1 = await snapshot(src, 'p1');
    const p2 = await snapshot(src, 'p2');
    await t.store.instances.updateStatus(src, 'stopped', null);
    await instance(src); // queued, restoring from src
    expect(await applySnapshotRetention(deps(1, 0))).toEqual([]);
    expect(await ids()).toEqual([r1.id, r2.id, p1.id, p2.id].sort());
  });

  it('runs at start and then on its timer; stop() ends it', async () => {
    const a = await instance();
    const s1 = await snapshot(a, 'one');
    await snapshot(a, 'two');
    await t.store.instances.updateStatus(a, 'stopped', null);
    const retention = startSnapshotRetention({ ...deps(1), intervalMs: 20 });
    expect(await retention.run()).toEqual([s1.id]);
    const s3 = await snapshot(a, 'three');
    const deadline = Date.now() + 5_000;
    while ((await ids()).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await ids()).toEqual([s3.id]);
    await retention.stop();
    await snapshot(a, 'four');
    await new Promise((r) => setTimeout(r, 60));
    expect(await ids()).toHaveLength(2);
    expect(await retention.run()).toEqual([]);
  });
});

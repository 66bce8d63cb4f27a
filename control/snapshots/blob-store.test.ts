import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempStore, testConfig, testSpec, type TempStore } from '../store/testing.ts';
import { BlobStore } from './blob-store.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunks = (b: Buffer, size = 64 * 1024) => Readable.from((function* () {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
})());

describe('BlobStore', () => {
  let dir: string;
  let blobs: BlobStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-blobs-'));
    blobs = new BlobStore(join(dir, 'snapshots'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = () => readdirSync(blobs.dir).sort();

  it('stores a stream under its sha256 with its size, and reads it back', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const blob = await blobs.write(chunks(data), { maxBytes: 10 * 1024 * 1024, expectedSha256: sha(data) });
    expect(blob).toEqual({ sha256: sha(data), size: data.length, path: sha(data) });
    expect(files()).toEqual([sha(data)]);
    const { stream, size } = await blobs.read(blob.sha256);
    const back: Buffer[] = [];
    for await (const c of stream) back.push(c as Buffer);
    expect(size).toBe(data.length);
    expect(sha(Buffer.concat(back))).toBe(sha(data));
  });

  it('accepts a digest in upper case and an empty blob', async () => {
    const blob = await blobs.write(Readable.from([]), { maxBytes: 10, expectedSha256: sha(Buffer.alloc(0)).toUpperCase() });
    expect(blob.size).toBe(0);
  });

  it('refuses more than maxBytes, removes the temp file and keeps the previous blob', async () => {
    const old = randomBytes(1000);
    await blobs.write(chunks(old), { maxBytes: 2000 });
    const err = await blobs.write(chunks(randomBytes(5000), 100), { maxBytes: 2000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CTL_SNAPSHOT_TOO_LARGE', status: 413 });
    expect(files()).toEqual([sha(old)]);
    expect(sha(readFileSync(join(blobs.dir, sha(old))))).toBe(sha(old));
  });

  it('accepts exactly maxBytes', async () => {
    expect((await blobs.write(chunks(randomBytes(2000), 300), { maxBytes: 2000 })).size).toBe(2000);
  });

  it('refuses a checksum mismatch and stores nothing', async () => {
    const data = randomBytes(4096);
    const err = await blobs.write(chunks(data), { maxBytes: 1e6, expectedSha256: sha(randomBytes(1)) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CTL_SNAPSHOT_CHECKSUM', status: 422 });
    expect(files()).toEqual([]);
  });

  it('refuses a malformed digest', async () => {
    const err = await blobs.write(chunks(randomBytes(10)), { maxBytes: 1e6, expectedSha256: 'abc' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CTL_INVALID' });
    expect(files()).toEqual([]);
  });

  it('leaves nothing of a stream cut off part-way, and the previous blob intact', async () => {
    const old = randomBytes(1000);
    await blobs.write(chunks(old), { maxBytes: 1e6 });
    const source = new PassThrough();
    const writing = blobs.write(source, { maxBytes: 1e6 });
    source.write(randomBytes(50_000));
    await new Promise((r) => setTimeout(r, 20));
    expect(files().some((f) => f.startsWith('.tmp-'))).toBe(true);
    source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await expect(writing).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(files()).toEqual([sha(old)]);
  });

  it('stores identical content once', async () => {
    const data = randomBytes(10_000);
    const a = await blobs.write(chunks(data), { maxBytes: 1e6 });
    const b = await blobs.write(chunks(data, 999), { maxBytes: 1e6 });
    expect(b).toEqual(a);
    expect(files()).toEqual([a.sha256]);
  });

  it('never shows a partial file under a blob name (only temp names while writing)', async () => {
    const seen: string[] = [];
    const watcher = watch(blobs.dir, (_event, name) => {
      if (name && !name.startsWith('.tmp-')) seen.push(name);
    });
    try {
      const data = randomBytes(2 * 1024 * 1024);
      const source = new PassThrough();
      const writing = blobs.write(source, { maxBytes: 1e7 });
      for (let i = 0; i < data.length; i += 256 * 1024) {
        source.write(data.subarray(i, i + 256 * 1024));
        await new Promise((r) => setTimeout(r, 2));
        // While bytes are still coming, no file has the final name.
        expect(files().filter((f) => !f.startsWith('.tmp-'))).toEqual([]);
      }
      source.end();
      const blob = await writing;
      expect(files()).toEqual([blob.sha256]);
      expect(readFileSync(join(blobs.dir, blob.sha256)).equals(data)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(new Set(seen)).toEqual(new Set([blob.sha256]));
    } finally {
      watcher.close();
    }
  });

  it('sweeps temp files left by a crash, but not one another control on the folder is writing', async () => {
    const source = new PassThrough();
    const writing = blobs.write(source, { maxBytes: 1e6 }).catch(() => undefined);
    source.write(Buffer.alloc(100));
    await new Promise((r) => setTimeout(r, 20));
    // Written to a moment ago: a live upload, left alone.
    expect(new BlobStore(blobs.dir).sweepTemp()).toBe(0);
    expect(files()).toHaveLength(1);
    // Untouched for over an hour: a crash's leftover.
    expect(new BlobStore(blobs.dir).sweepTemp(Date.now() + 3_600_001)).toBe(1);
    source.destroy(new Error('gone'));
    await writing;
    expect(files()).toEqual([]);
  });

  describe('remove', () => {
    let t: TempStore;
    beforeEach(() => {
      t = tempStore();
    });
    afterEach(() => t.cleanup());

    it('deletes a blob only when no snapshot row references it', async () => {
      const user = await t.store.users.add({ name: 'u', password: 'password-1', admin: false });
      const inst = await t.store.instances.create({ owner: user.id, config: testConfig(), spec: testSpec() });
      const blob = await blobs.write(chunks(randomBytes(100)), { maxBytes: 1e6 });
      const row = await t.store.snapshots.add({ instance: inst.id, owner: user.id, ...blob });
      expect(await blobs.remove(blob.sha256, t.store.snapshots)).toBe(false);
      expect(await blobs.has(blob.sha256)).toBe(true);
      await t.store.snapshots.delete(row.id);
      expect(await blobs.remove(blob.sha256, t.store.snapshots)).toBe(true);
      expect(await blobs.has(blob.sha256)).toBe(false);
      await expect(blobs.read(blob.sha256)).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
    });
  });
});

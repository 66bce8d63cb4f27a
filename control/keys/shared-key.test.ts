import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends } from '../store/store-backends.ts';
import { tempStore, type TempStore, type TestStore } from '../store/testing.ts';
import { sharedKey } from './shared-key.ts';

describe.each(storeBackends())('shared keys on $name', ({ open }) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(() => t.cleanup());

  it('gives every control the same 32-byte key, made once even when they start together', async () => {
    const others = [await t.openAnother(), await t.openAnother()];
    const keys = await Promise.all([t.store, ...others].map((s) => sharedKey(s.sharedKeys, 'console-session')));
    expect(keys[0].length).toBe(32);
    for (const key of keys) expect(key.equals(keys[0])).toBe(true);
    // Another name is another key; a restart reads the same one back.
    expect((await sharedKey(t.store.sharedKeys, 'app-session')).equals(keys[0])).toBe(false);
    const store = await t.reopen();
    expect((await sharedKey(store.sharedKeys, 'console-session')).equals(keys[0])).toBe(true);
  });
});

describe('shared keys of an older install', () => {
  let t: TempStore;
  beforeEach(() => {
    t = tempStore();
  });
  afterEach(() => t.cleanup());

  it('take the key file\'s key on the first start, so its sign-ins survive the upgrade; the store wins after', async () => {
    const file = join(t.dir, 'console-session.key');
    const old = Buffer.alloc(32, 7);
    writeFileSync(file, `${old.toString('base64url')}\n`, { mode: 0o600 });
    expect((await sharedKey(t.store.sharedKeys, 'console-session', file)).equals(old)).toBe(true);
    writeFileSync(file, `${Buffer.alloc(32, 9).toString('base64url')}\n`);
    expect((await sharedKey(t.store.sharedKeys, 'console-session', file)).equals(old)).toBe(true);
  });
});

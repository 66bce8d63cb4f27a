import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Instance } from '../store.ts';
import { storeBackends } from '../store-backends.ts';
import { testConfig, testSpec, type TestStore } from '../testing.ts';

const backends = storeBackends();

describe.each(backends)('$name console', ({ open }) => {
  let t: TestStore;
  let instance: Instance;
  beforeEach(async () => {
    t = await open({ console: { lines: 100, lineChars: 20 } });
    const ada = await t.store.users.add({ name: 'ada', password: 'x' });
    instance = await t.store.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });
  });
  afterEach(() => t.cleanup());

  it('number lines 1, 2, 3 … and return those after a seq, oldest first', async () => {
    expect(await t.store.console.append(instance.id, [{ text: 'pulling image' }, { text: 'hello', stream: 'stdout', at: 42 }])).toBe(2);
    expect(await t.store.console.append(instance.id, [{ text: 'oops', stream: 'stderr' }])).toBe(3);
    expect(await t.store.console.since(instance.id, 0)).toEqual([
      { seq: 1, at: t.clock.now, stream: 'event', text: 'pulling image' },
      { seq: 2, at: 42, stream: 'stdout', text: 'hello' },
      { seq: 3, at: t.clock.now, stream: 'stderr', text: 'oops' },
    ]);
    expect((await t.store.console.since(instance.id, 2)).map((l) => l.seq)).toEqual([3]);
    expect(await t.store.console.since(instance.id, 3)).toEqual([]);
    expect((await t.store.console.since(instance.id, 0, 2)).map((l) => l.seq)).toEqual([1, 2]);
  });

  it('keep only the newest lines of each instance', async () => {
    const ada = (await t.store.users.getByName('ada'))!;
    const other = await t.store.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });
    await t.store.console.append(other.id, [{ text: 'other' }]);
    for (let batch = 0; batch < 5; batch++) {
      await t.store.console.append(instance.id, Array.from({ length: 70 }, (_, i) => ({ text: `line ${batch * 70 + i + 1}` })));
    }
    const kept = await t.store.console.since(instance.id, 0, 1_000);
    expect(kept).toHaveLength(100);
    expect(kept[0]).toMatchObject({ seq: 251, text: 'line 251' });
    expect(kept.at(-1)).toMatchObject({ seq: 350, text: 'line 350' });
    expect(await t.store.console.since(other.id, 0)).toHaveLength(1);
    // A follower that fell behind resumes with what is left.
    expect((await t.store.console.since(instance.id, 10, 1))[0].seq).toBe(251);
  });

  it('cut long lines, and refuse lines for an unknown instance', async () => {
    await t.store.console.append(instance.id, [{ text: 'x'.repeat(19) + '\u{1F600}' }, { text: 'y'.repeat(50) }]);
    const [a, b] = await t.store.console.since(instance.id, 0);
    expect(a.text).toBe('x'.repeat(19) + '…'); // the emoji's two halves stay together
    expect(b.text).toBe('y'.repeat(20) + '…');
    await expect(t.store.console.append('i-missing', [{ text: 'x' }])).rejects.toMatchObject({ code: 'CTL_NOT_FOUND' });
  });
});

import { describe, expect, it } from 'vitest';
import { ControlApiError, type ConsoleLine } from './control-api.ts';
import { ConsolePump } from './console-pump.ts';

describe('ConsolePump', () => {
  it('sends events in order, batched, and flush waits for control to have them', async () => {
    const got: ConsoleLine[][] = [];
    const pump = new ConsolePump(async (lines) => {
      got.push(lines);
    });
    for (let i = 0; i < 1200; i++) pump.event(`line ${i}`);
    await pump.flush();
    const all = got.flat();
    expect(all.map((l) => l.text)).toEqual(Array.from({ length: 1200 }, (_, i) => `line ${i}`));
    expect(got.every((b) => b.length <= 500)).toBe(true);
    expect(all.every((l) => l.stream === 'event' && typeof l.at === 'number')).toBe(true);
  });

  it('is bounded while control is slow: the oldest lines go and the loss is said', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: ConsoleLine[] = [];
    const pump = new ConsolePump(async (lines) => {
      await gate;
      got.push(...lines);
    });
    for (let i = 0; i < 501; i++) pump.event(`first ${i}`); // the first batch goes out and waits
    for (let i = 0; i < 6000; i++) pump.event(`later ${i}`);
    release();
    await pump.flush();
    expect(got.some((l) => /\[wharf: \d+ console lines dropped/.test(l.text))).toBe(true);
    expect(got.at(-1)!.text).toBe('later 5999');
    expect(got.length).toBeLessThan(6000);
  });

  it('lets a batch go that control refuses, and keeps going', async () => {
    let calls = 0;
    const got: string[] = [];
    const pump = new ConsolePump(async (lines) => {
      if (++calls === 1) throw new ControlApiError(404, 'CTL_NOT_FOUND', 'no such instance');
      got.push(...lines.map((l) => l.text));
    });
    pump.event('lost');
    await pump.flush();
    pump.event('kept');
    await pump.flush();
    expect(got).toEqual(['kept']);
  });

  it('keeps the lines while control cannot be reached, up to its bound, and sends them with the count of those dropped once it is back', async () => {
    let away = true;
    let tries = 0;
    const got: ConsoleLine[] = [];
    const pump = new ConsolePump(async (lines) => {
      tries++;
      if (away) throw new Error('connect ECONNREFUSED 127.0.0.1:7400');
      got.push(...lines);
    });
    for (let i = 0; i < 10_000; i++) pump.event(`line ${i}`);
    await pump.flush(); // control is away: flush returns, the lines wait
    expect(got).toEqual([]);
    const triesWhileAway = tries;
    expect(triesWhileAway).toBeLessThan(5); // not one try per line or per batch
    away = false;
    await new Promise((r) => setTimeout(r, 1_200)); // past the next try
    await pump.flush();
    const texts = got.map((l) => l.text);
    expect(texts[0]).toBe('[wharf: 6000 console lines dropped: control did not keep up]');
    expect(texts.slice(1)).toEqual(Array.from({ length: 4_000 }, (_, i) => `line ${6_000 + i}`));
    pump.close();
  });
});

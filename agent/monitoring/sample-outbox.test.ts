import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResourceSampleReport } from '../../protocol/resource-sample.ts';
import { until } from '../../test/support/tcp.ts';
import { ControlApiError, ControlUnreachable } from '../control-api.ts';
import { MAX_WAITING, SampleOutbox } from './sample-outbox.ts';

const silent = pino({ level: 'silent' });

/** Control as the outbox meets it: answering, away (unreachable), or refusing one app's samples. */
function control() {
  const received: { instance: string; at?: number }[] = [];
  const state = { away: false };
  const report = async (instance: string, sample: ResourceSampleReport) => {
    if (state.away) throw new ControlUnreachable('cannot reach control at http://127.0.0.1:1 (ECONNREFUSED)');
    if (instance === 'gone') throw new ControlApiError(409, 'CTL_LEASE_EXPIRED', 'control answered 409');
    received.push({ instance, at: sample.at });
  };
  return { received, state, report };
}

describe('SampleOutbox', () => {
  it('keeps samples while control is away and sends them, in order and with their times, once it answers', async () => {
    const c = control();
    const counts: [number, number][] = [];
    const outbox = new SampleOutbox({ report: c.report, log: silent, onChange: (w, d) => counts.push([w, d]) });
    await outbox.send('i-1', { at: 1 });
    c.state.away = true;
    for (let at = 2; at <= 5; at++) await outbox.send(at % 2 ? 'i-1' : 'i-2', { at });
    expect(outbox.waiting).toBe(4);
    c.state.away = false;
    await outbox.send('i-1', { at: 6 }); // behind the ones waiting, not before them
    await until('the waiting samples are sent', () => outbox.waiting === 0, 10_000, 50);
    expect(c.received.map((r) => r.at)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(counts.at(-1)).toEqual([0, 0]);
    outbox.close();
  });

  it('keeps at most MAX_WAITING, dropping the oldest and counting them', async () => {
    const c = control();
    const outbox = new SampleOutbox({ report: c.report, log: silent });
    c.state.away = true;
    for (let at = 1; at <= MAX_WAITING + 25; at++) await outbox.send('i-1', { at });
    expect(outbox.waiting).toBe(MAX_WAITING);
    expect(outbox.dropped).toBe(25);
    c.state.away = false;
    await until('the waiting samples are sent', () => outbox.waiting === 0, 10_000, 50);
    expect(c.received[0].at).toBe(26);
    expect(c.received).toHaveLength(MAX_WAITING);
    outbox.close();
  });

  it('drops a sample control refuses (the app ended, its lease moved) and sends the rest', async () => {
    const c = control();
    const outbox = new SampleOutbox({ report: c.report, log: silent });
    await outbox.send('gone', { at: 1 });
    expect(outbox.waiting).toBe(0);
    c.state.away = true;
    await outbox.send('gone', { at: 2 });
    await outbox.send('i-1', { at: 3 });
    c.state.away = false;
    await until('the waiting samples are sent', () => outbox.waiting === 0, 10_000, 50);
    expect(c.received).toEqual([{ instance: 'i-1', at: 3 }]);
    expect(outbox.dropped).toBe(0);
    outbox.close();
  });
});

import { describe, expect, it } from 'vitest';
import { IdleDetector, type AgentSignals, type IdleDecision, type IdleThresholds } from './idle-detector.ts';

const T0 = 1_700_000_000_000;
const S = 1000;
const MIN = 60 * S;
const THRESHOLDS: IdleThresholds = { maxHours: 1, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 };
const QUIET: AgentSignals = { cpuPercent: 1, networkBytesPerS: 1_000 };
const BUSY: AgentSignals = { cpuPercent: 90, networkBytesPerS: 1_000 };

/** A detector started at T0 and a clock the test moves; samples every 5 s unless told. */
function harness(thresholds: Partial<IdleThresholds> = {}, options: ConstructorParameters<typeof IdleDetector>[1] = {}, seed: { quietSince?: number | null; idle?: boolean } = {}) {
  const d = new IdleDetector({ ...THRESHOLDS, ...thresholds }, { windowMs: MIN, warningMs: 10 * MIN, ...options }, { since: T0, ...seed });
  let now = T0;
  const h = {
    d,
    get now() { return now; },
    /** Sends `sample` every `every` ms for `forMs` (the first one now), ticking every second between. */
    samples(sample: AgentSignals | ((i: number) => AgentSignals), forMs: number, every = 5 * S): IdleDecision {
      let last = d.decide(now);
      const end = now + forMs;
      for (let i = 0; now < end; i++) {
        last = d.agentSample(now, typeof sample === 'function' ? sample(i) : sample);
        for (let t = 0; t < every && now < end; t += S) {
          now += S;
          last = d.decide(now);
        }
      }
      return last;
    },
    /** Moves the clock on, ticking every second, without samples. */
    wait(forMs: number): IdleDecision {
      let last = d.decide(now);
      for (const end = now + forMs; now < end;) last = d.decide((now += S));
      return last;
    },
  };
  return h;
}

describe('the idle detector', () => {
  it('starts the quiet period at the first quiet sample and turns idle after one window', () => {
    const h = harness();
    let d = h.samples(QUIET, 59 * S);
    expect(d.quietSince).toBe(T0);
    expect(d.state).toBe('active');
    expect(d.idleMs).toBe(59 * S);
    d = h.samples(QUIET, 1 * S);
    expect(d.state).toBe('idle');
    expect(d.quietSince).toBe(T0);
  });

  it('counts the exact idle time and stops at maxHours × 3600 s, warning ahead of it', () => {
    const h = harness({ maxHours: 0.5 });
    h.samples(BUSY, 20 * S);
    const quietStart = h.now;
    let d = h.samples(QUIET, 19 * MIN);
    expect(d.quietSince).toBe(quietStart);
    expect(d.warn).toBe(false);
    expect(d.stopsAt).toBe(quietStart + 30 * MIN);
    d = h.samples(QUIET, 1 * MIN + 1 * S);
    expect(d.warn).toBe(true);
    expect(d.stop).toBe(false);
    d = h.samples(QUIET, 10 * MIN - 2 * S);
    expect(d.stop).toBe(false);
    expect(d.idleMs).toBe(30 * MIN - 1 * S);
    d = h.wait(1 * S);
    expect(d.stop).toBe(true);
    expect(d.idleMs).toBe(30 * MIN);
  });

  it('stops at a maxHours shorter than the window, whatever the state shows', () => {
    const h = harness({ maxHours: 0.005 }); // 18 s
    const d = h.samples(QUIET, 18 * S);
    expect(d.state).toBe('active');
    expect(d.stop).toBe(true);
    expect(d.idleMs).toBe(18 * S);
  });

  it('does not let a short blip reset a long idle period', () => {
    const h = harness();
    h.samples(QUIET, 10 * MIN);
    // 10 s of CPU, 20 s of network over the threshold: blips.
    let d = h.samples(BUSY, 10 * S);
    expect(d.state).toBe('idle');
    d = h.samples({ cpuPercent: 1, networkBytesPerS: 200_000 }, 20 * S);
    expect(d.state).toBe('idle');
    d = h.samples(QUIET, 5 * MIN);
    expect(d.quietSince).toBe(T0);
    expect(d.idleMs).toBe(15 * MIN + 30 * S);
  });

  it('resets the idle period when the busy spell stays over the threshold for a window', () => {
    const h = harness({}, { busyShare: 1 });
    h.samples(QUIET, 10 * MIN);
    let d = h.samples(BUSY, 59 * S);
    expect(d.state).toBe('idle');
    expect(d.quietSince).toBe(T0);
    d = h.samples(BUSY, 2 * S);
    expect(d.state).toBe('active');
    expect(d.quietSince).toBeNull();
    expect(d.why).toMatch(/CPU 90% ≥ 5%/);
    // Quiet again: a new period from its first quiet sample.
    const back = h.now + 4 * S; // the busy sample sent at the last step holds until the next one
    h.samples(BUSY, 4 * S);
    d = h.samples(QUIET, 30 * S);
    expect(d.quietSince).toBe(back);
  });

  it('never starts counting for a busy CPU loop with occasional quiet dips', () => {
    const h = harness({ maxHours: 0.01 }); // 36 s
    // One dip in six samples: 25 s of busy CPU, 5 s quiet, for two hours.
    for (let k = 0; k < 240; k++) {
      const d = h.samples((i) => (i === 5 ? QUIET : BUSY), 30 * S);
      expect(d.stop).toBe(false);
      expect(d.state).toBe('active');
      expect(d.idleMs).toBeLessThanOrEqual(5 * S);
    }
  });

  it('gives an idle session back to a busy job with dips (most of a window busy)', () => {
    const h = harness();
    h.samples(QUIET, 20 * MIN);
    // 55 s of every minute busy: the window is more than three quarters busy.
    const d = h.samples((i) => (i % 12 === 11 ? QUIET : BUSY), 2 * MIN);
    expect(d.state).toBe('active');
    expect(d.quietSince === null || d.quietSince > T0 + 20 * MIN).toBe(true);
  });

  it('compares network strictly: just under the threshold is quiet, at or over it busy', () => {
    const under = harness();
    expect(under.samples({ cpuPercent: 0, networkBytesPerS: 49_999 }, 61 * S).state).toBe('idle');
    const over = harness();
    const d = over.samples({ cpuPercent: 0, networkBytesPerS: 50_000 }, 10 * MIN);
    expect(d.quietSince).toBeNull();
    expect(d.why).toMatch(/network 0.05 MB\/s ≥ 0.05 MB\/s/);
    // rx + tx when the sample has no total.
    const split = harness();
    expect(split.samples({ cpuPercent: 0, networkRxBytesPerS: 30_000, networkTxBytesPerS: 30_000 }, 2 * MIN).quietSince).toBeNull();
  });

  it('reads the GPU only where a sample carries one', () => {
    const absent = harness();
    expect(absent.samples({ cpuPercent: 1 }, 61 * S).state).toBe('idle');
    const present = harness();
    const d = present.samples({ cpuPercent: 1, gpuPercent: 80 }, 10 * MIN);
    expect(d.quietSince).toBeNull();
    expect(d.why).toMatch(/GPU 80% ≥ 5%/);
    const quietGpu = harness();
    expect(quietGpu.samples({ cpuPercent: 1, gpuPercent: 4.9 }, 61 * S).state).toBe('idle');
  });

  it('ends the quiet period at once when the app reports newer activity', () => {
    const h = harness();
    h.samples({ ...QUIET, activityAt: T0 - 5 * MIN }, 10 * MIN);
    // The same activity time again: nothing new.
    let d = h.samples({ ...QUIET, activityAt: T0 - 5 * MIN }, 10 * S);
    expect(d.state).toBe('idle');
    const used = T0 + 10 * MIN + 5 * S;
    d = h.d.agentSample(h.now, { ...QUIET, activityAt: used });
    expect(d.state).toBe('active');
    expect(d.quietSince).toBeNull();
    expect(d.why).toBe('app activity');
    // The next quiet sample starts a new period; activity advancing every sample keeps it active.
    d = h.samples((i) => ({ ...QUIET, activityAt: used + i * 5 * S }), 5 * MIN);
    expect(d.quietSince).toBeNull();
    const start = h.now;
    d = h.samples({ ...QUIET, activityAt: used + 100 * S }, 2 * MIN);
    expect(d.quietSince).toBe(start);
    expect(d.state).toBe('idle');
  });

  it('keeps it busy while gateway traffic is over the threshold, even with CPU idle', () => {
    const h = harness();
    let d = h.d.decide(h.now);
    for (let k = 0; k < 120; k++) {
      // A WebSocket app: 100 kB/s through the gateway, pushed every 5 s.
      h.d.traffic(h.now, { source: 'gw1', bytes: 500_000, intervalMs: 5 * S });
      d = h.samples(QUIET, 5 * S);
    }
    expect(d.quietSince).toBeNull();
    expect(d.why).toMatch(/gateway traffic 0.1 MB\/s/);
    // Traffic stops (no more deltas): quiet from when the last delta's hold (its 5 s + 2 s) ran out.
    const lastDelta = h.now - 5 * S;
    d = h.samples(QUIET, 2 * MIN);
    expect(d.state).toBe('idle');
    expect(d.quietSince).toBe(lastDelta + 7 * S);
  });

  it('adds up the traffic of several gateways, and a slow trickle stays quiet', () => {
    const h = harness();
    let d = h.d.decide(h.now);
    for (let k = 0; k < 24; k++) {
      h.d.traffic(h.now, { source: 'gw1', bytes: 150_000, intervalMs: 5 * S }); // 30 kB/s
      h.d.traffic(h.now, { source: 'gw2', bytes: 150_000, intervalMs: 5 * S }); // 30 kB/s
      d = h.samples(QUIET, 5 * S);
    }
    expect(d.quietSince).toBeNull();
    const trickle = harness();
    for (let k = 0; k < 24; k++) {
      trickle.d.traffic(trickle.now, { source: 'gw1', bytes: 10_000, intervalMs: 5 * S }); // a polling tab
      d = trickle.samples(QUIET, 5 * S);
    }
    expect(d.state).toBe('idle');
    expect(d.quietSince).toBe(T0);
  });

  it('makes no decision on no evidence within the grace, then counts a silent agent as quiet', () => {
    const h = harness({}, { missingGraceMs: 60 * S });
    let d = h.wait(59 * S);
    expect(d.verdict).toBe('unknown');
    expect(d.quietSince).toBeNull();
    d = h.wait(1 * S);
    expect(d.verdict).toBe('quiet');
    expect(d.quietSince).toBe(T0 + 60 * S);
    expect(h.wait(1 * MIN).state).toBe('idle');
  });

  it('keeps a busy instance busy while its samples are late, and counts on once they stay away', () => {
    const h = harness({}, { missingGraceMs: 60 * S });
    h.samples(BUSY, 1 * MIN);
    const lastSample = h.now - 5 * S;
    let d = h.wait(40 * S);
    expect(d.verdict).toBe('unknown'); // stale after 3 intervals (15 s)
    expect(d.quietSince).toBeNull();
    d = h.wait(30 * S);
    expect(d.verdict).toBe('quiet');
    expect(d.quietSince).toBe(lastSample + 60 * S);
    // A quiet period under way keeps counting while samples are late.
    const q = harness();
    q.samples(QUIET, 2 * MIN);
    d = q.wait(30 * S);
    expect(d.verdict).toBe('unknown');
    expect(d.quietSince).toBe(T0);
    expect(d.idleMs).toBe(2 * MIN + 30 * S);
  });

  it('learns a slower sample interval and does not call its samples late', () => {
    const h = harness();
    const d = h.samples(BUSY, 5 * MIN, 30 * S);
    expect(d.verdict).toBe('busy');
    expect(d.quietSince).toBeNull();
  });

  it('ignores a sample that measured nothing', () => {
    const h = harness();
    h.samples(BUSY, 10 * S);
    const d = h.samples({}, 2 * MIN);
    expect(d.verdict).not.toBe('busy');
    expect(d.quietSince).toBe(T0 + 5 * S + 60 * S); // counted as silent from the last real sample (T0 + 5 s), after the grace
  });

  it('resumes from a seed after a control restart: the clock is not reset', () => {
    const h = harness({}, {}, { quietSince: T0 - 50 * MIN, idle: true });
    // An old activity time in the first sample is not activity.
    let d = h.samples({ ...QUIET, activityAt: T0 - 55 * MIN }, 5 * MIN);
    expect(d.quietSince).toBe(T0 - 50 * MIN);
    expect(d.state).toBe('idle');
    expect(d.stop).toBe(false);
    d = h.samples(QUIET, 5 * MIN);
    expect(d.stop).toBe(true);
    // Newer activity than the seeded quiet period, in the first sample after a restart, is use.
    const r = harness({}, {}, { quietSince: T0 - 50 * MIN, idle: true });
    expect(r.d.agentSample(T0, { ...QUIET, activityAt: T0 - 10 * MIN }).state).toBe('active');
  });

  it('never goes back in time', () => {
    const h = harness();
    h.samples(QUIET, 2 * MIN);
    const d = h.d.agentSample(T0, BUSY); // an earlier time is read as the last one
    expect(d.idleMs).toBe(2 * MIN);
  });
});

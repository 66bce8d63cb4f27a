/*
 * The idle detector of one instance (issue 6, "Idle detection"; DESIGN.md "Idle clock").
 * Pure: no I/O and no clock of its own. It is fed timestamped observations (control's clock at
 * receipt) and asked for a decision at a time; the same inputs always give the same answer.
 *
 * Signals and what "quiet" means (each compared strictly: under the threshold is quiet):
 *   agent sample   cpuPercent < idle.cpuPercent
 *                  gpuPercent < idle.gpuPercent          only when the sample carries a GPU figure
 *                  networkBytesPerS < idle.networkMBps   MB = 10^6 bytes; rx + tx when no total
 *                  activityAt not newer than before      the app's own probe (Jupyter's last_activity)
 *   gateway        bytes in + out per second over the delta's interval < idle.networkMBps, summed
 *                  over the gateways that carry the route. A gateway pushes only routes that saw
 *                  traffic, so no delta means no traffic: the gateway signal is never missing.
 * A sample's verdict holds until the next sample; a gateway delta's until its interval has
 * passed again (at most 30 s) plus 2 s, or until the same gateway's next delta.
 *
 * The clock (all times are control's):
 * - quietSince is the start of the current quiet period: the time of the first quiet evaluation
 *   after the last busy spell that held. idleMs = now − quietSince; the stop is due when it
 *   reaches idle.maxHours × 3600 s, whatever the state says (so a maxHours shorter than the
 *   window still stops on time).
 * - active → idle once quiet has held a whole window (WHARF_IDLE_WINDOW_S) without one busy
 *   observation. Before that, any busy observation ends the young quiet period (a busy CPU loop
 *   that dips under the threshold now and then never starts counting).
 * - Once idle, a short busy blip does not reset the period: it resets when busy time covers at
 *   least `busyShare` (default 3/4) of the last whole window. "Stays over the threshold for a
 *   whole window" is read with a tolerance for sample-sized dips, so that a user who starts a
 *   busy job (CPU loop with an occasional quiet sample) in an idle session gets it back;
 *   busyShare 1 is the literal reading.
 * - Activity reported by the app's probe (activityAt newer than before) is real use: it resets
 *   at once, no window needed.
 *
 * Missing signals, the choice: a missing agent sample is neither proof of use nor of idleness.
 * - The agent's verdict is fresh for 3 sample intervals (the interval is learnt from the
 *   spacing of its samples, 5 s until known). After that it is `unknown`: nothing changes — a
 *   running quiet period keeps counting (idleSeconds is now − quietSince), a busy instance does
 *   not start one, and no state change is made on no evidence.
 * - Unknown for longer than `missingGraceMs` (default 60 s, at least the stale time) after the
 *   last sample — or after tracking began, for an instance whose agent never sent one — the
 *   agent's signals count as quiet, and only gateway traffic can keep the instance busy. That is
 *   the safe choice for money: an instance whose sampler is broken, or whose agent never samples,
 *   is still stopped at its limit (with its snapshot), never left running forever; and the grace
 *   keeps a session whose agent simply has not reported yet (start-up, a restart, a late sample)
 *   from counting a second of idle time for it. An agent silent past its grace is handled by the
 *   agent sweeper ("agent offline", then failed), not here.
 */

export const DEFAULT_WINDOW_MS = 60_000;
export const DEFAULT_WARNING_MS = 600_000;
export const DEFAULT_MISSING_GRACE_MS = 60_000;
export const DEFAULT_BUSY_SHARE = 0.75;
/** How long the agent's interval is assumed to be until two samples show it. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 5_000;
/** Samples missed before the agent's verdict is unknown. */
export const STALE_INTERVALS = 3;
const GATEWAY_HOLD_CAP_MS = 30_000;
const GATEWAY_SLACK_MS = 2_000;
const MB = 1_000_000;

/** The instance's `idle` config (protocol/app-config.ts). */
export interface IdleThresholds {
  maxHours: number;
  networkMBps: number;
  cpuPercent: number;
  gpuPercent: number;
}

export interface IdleDetectorOptions {
  /** WHARF_IDLE_WINDOW_S in ms. */
  windowMs?: number;
  /** WHARF_IDLE_WARNING_S in ms: how long ahead of the stop the warning is due. */
  warningMs?: number;
  /** How long an agent may be silent before its signals count as quiet. */
  missingGraceMs?: number;
  /** Share of the last window that busy time must cover to end an idle period (0 < x ≤ 1). */
  busyShare?: number;
}

/** What the detector resumes from: the store's quietSince and status (after a control restart). */
export interface IdleSeed {
  /** When tracking began (the grace for a first agent sample counts from here). */
  since: number;
  quietSince?: number | null;
  idle?: boolean;
}

/** The fields of an agent sample (protocol/resource-sample.ts) the detector reads. */
export interface AgentSignals {
  cpuPercent?: number;
  gpuPercent?: number;
  networkBytesPerS?: number;
  networkRxBytesPerS?: number;
  networkTxBytesPerS?: number;
  activityAt?: number;
}

/** One gateway delta for the instance's route: bytes in + out over an interval. */
export interface TrafficSignals {
  /** Which gateway (deltas of different gateways add up). */
  source: string;
  bytes: number;
  intervalMs: number;
}

export type Verdict = 'busy' | 'quiet' | 'unknown';

export interface IdleDecision {
  state: 'active' | 'idle';
  /** Start of the current quiet period, or null. */
  quietSince: number | null;
  /** now − quietSince, 0 without a quiet period. */
  idleMs: number;
  /** quietSince + maxHours, or null without a quiet period. */
  stopsAt: number | null;
  /** The warning ahead of the stop is due (now ≥ stopsAt − warning lead). */
  warn: boolean;
  /** The idle limit is reached: stop now. */
  stop: boolean;
  /** The signals as they stand now. */
  verdict: Verdict;
  /** What keeps it busy, or why the verdict is what it is (for logs and tests). */
  why: string;
}

interface Segment { start: number; end: number; busy: boolean }

export class IdleDetector {
  readonly thresholds: IdleThresholds;
  readonly windowMs: number;
  readonly warningMs: number;
  readonly missingGraceMs: number;
  readonly busyShare: number;
  readonly maxMs: number;

  #since: number;
  #quietSince: number | null;
  #idle: boolean;
  #last: number; // time of the last evaluation
  #lastVerdict: Verdict = 'unknown';
  #segments: Segment[] = []; // busy / quiet time over the last window (unknown time is left out)

  // Agent
  #agentAt: number | undefined;
  #agentBusy: string | undefined; // the last sample's busy reason, undefined when quiet
  #intervalMs = DEFAULT_SAMPLE_INTERVAL_MS;
  #activityAt: number | undefined;
  #activity = false; // an activity report not yet evaluated

  // Gateway: the latest delta per gateway
  #traffic = new Map<string, { bytesPerS: number; until: number }>();

  constructor(thresholds: IdleThresholds, options: IdleDetectorOptions = {}, seed: IdleSeed) {
    this.thresholds = thresholds;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.warningMs = options.warningMs ?? DEFAULT_WARNING_MS;
    this.missingGraceMs = options.missingGraceMs ?? DEFAULT_MISSING_GRACE_MS;
    this.busyShare = Math.min(1, Math.max(Number.EPSILON, options.busyShare ?? DEFAULT_BUSY_SHARE));
    this.maxMs = Math.round(thresholds.maxHours * 3_600_000);
    this.#since = seed.since;
    this.#quietSince = seed.quietSince ?? null;
    this.#idle = this.#quietSince !== null && (seed.idle ?? false);
    this.#last = seed.since;
  }

  /** An agent sample received at `at`; returns the decision at `at`. */
  agentSample(at: number, s: AgentSignals): IdleDecision {
    at = Math.max(at, this.#last);
    const network = s.networkBytesPerS ?? (s.networkRxBytesPerS !== undefined || s.networkTxBytesPerS !== undefined
      ? (s.networkRxBytesPerS ?? 0) + (s.networkTxBytesPerS ?? 0) : undefined);
    const informative = s.cpuPercent !== undefined || s.gpuPercent !== undefined || network !== undefined || s.activityAt !== undefined;
    if (!informative) return this.decide(at); // a sample that measured nothing is no evidence either way
    // Evaluate up to now under the previous verdict before the new one takes over.
    this.decide(at);
    const t = this.thresholds;
    const reasons: string[] = [];
    if (s.cpuPercent !== undefined && !(s.cpuPercent < t.cpuPercent)) reasons.push(`CPU ${round(s.cpuPercent)}% ≥ ${t.cpuPercent}%`);
    if (s.gpuPercent !== undefined && !(s.gpuPercent < t.gpuPercent)) reasons.push(`GPU ${round(s.gpuPercent)}% ≥ ${t.gpuPercent}%`);
    if (network !== undefined && !(network < t.networkMBps * MB)) reasons.push(`network ${round(network / MB)} MB/s ≥ ${t.networkMBps} MB/s`);
    if (s.activityAt !== undefined) {
      const previous = this.#activityAt ?? (this.#quietSince ?? Infinity);
      if (s.activityAt > previous) {
        this.#activity = true;
        reasons.push('app activity');
      }
      this.#activityAt = Math.max(s.activityAt, this.#activityAt ?? 0);
    }
    if (this.#agentAt !== undefined) {
      const spacing = at - this.#agentAt;
      if (spacing >= 200 && spacing <= 10 * 60_000) this.#intervalMs = spacing;
    }
    this.#agentAt = at;
    this.#agentBusy = reasons.length ? reasons.join(', ') : undefined;
    return this.decide(at);
  }

  /** A gateway delta received at `at`; returns the decision at `at`. */
  traffic(at: number, d: TrafficSignals): IdleDecision {
    at = Math.max(at, this.#last);
    this.decide(at);
    const seconds = Math.max(d.intervalMs, 1) / 1000;
    this.#traffic.set(d.source, { bytesPerS: d.bytes / seconds, until: at + Math.min(Math.max(d.intervalMs, 0), GATEWAY_HOLD_CAP_MS) + GATEWAY_SLACK_MS });
    return this.decide(at);
  }

  /** The agent's part of the verdict at `now`. */
  #agent(now: number): { verdict: Verdict; why: string } {
    const staleMs = STALE_INTERVALS * this.#intervalMs;
    const graceMs = Math.max(this.missingGraceMs, staleMs);
    const from = this.#agentAt ?? this.#since;
    if (this.#agentAt !== undefined && now - this.#agentAt <= staleMs) {
      return this.#agentBusy ? { verdict: 'busy', why: this.#agentBusy } : { verdict: 'quiet', why: 'agent signals under their thresholds' };
    }
    if (now - from < graceMs) return { verdict: 'unknown', why: this.#agentAt === undefined ? 'no agent sample yet' : 'agent samples late' };
    return { verdict: 'quiet', why: `no agent sample for ${Math.round((now - from) / 1000)} s: counted as quiet` };
  }

  /** Gateway traffic at `now`, bytes per second over every gateway. */
  #gateway(now: number): number {
    let sum = 0;
    for (const [source, entry] of this.#traffic) {
      if (entry.until <= now) this.#traffic.delete(source);
      else sum += entry.bytesPerS;
    }
    return sum;
  }

  #verdict(now: number): { verdict: Verdict; why: string } {
    const agent = this.#agent(now);
    if (agent.verdict === 'busy') return agent;
    const rate = this.#gateway(now);
    if (!(rate < this.thresholds.networkMBps * MB)) return { verdict: 'busy', why: `gateway traffic ${round(rate / MB)} MB/s ≥ ${this.thresholds.networkMBps} MB/s` };
    return agent;
  }

  /** Busy time within [now − window, now]. */
  #busyMs(now: number): number {
    const from = now - this.windowMs;
    let busy = 0;
    for (const s of this.#segments) if (s.busy) busy += Math.max(0, Math.min(s.end, now) - Math.max(s.start, from));
    return busy;
  }

  #account(now: number): void {
    if (now <= this.#last) return;
    if (this.#lastVerdict !== 'unknown') {
      const busy = this.#lastVerdict === 'busy';
      const tail = this.#segments.at(-1);
      if (tail && tail.busy === busy && tail.end === this.#last) tail.end = now;
      else this.#segments.push({ start: this.#last, end: now, busy });
    }
    const from = now - this.windowMs;
    while (this.#segments.length && this.#segments[0].end <= from) this.#segments.shift();
    this.#last = now;
  }

  /**
   * Advances to `now` (never backwards: an earlier time is read as the last one) and returns
   * the decision. Call it on every tick; observations call it themselves.
   */
  decide(now: number): IdleDecision {
    now = Math.max(now, this.#last);
    this.#account(now);
    const { verdict, why } = this.#verdict(now);
    if (this.#activity) {
      // Real use, as the app itself reports it: the quiet period ends at once.
      this.#activity = false;
      this.#quietSince = null;
      this.#idle = false;
    } else if (verdict === 'busy') {
      if (this.#quietSince !== null && !this.#idle) {
        this.#quietSince = null; // a young quiet period that did not hold a window
      } else if (this.#idle && this.#busyMs(now) >= this.busyShare * this.windowMs) {
        this.#quietSince = null; // busy held (most of) a whole window: no blip
        this.#idle = false;
      }
    } else if (verdict === 'quiet') {
      if (this.#quietSince === null) this.#quietSince = now;
      if (!this.#idle && now - this.#quietSince >= this.windowMs) this.#idle = true;
    }
    // unknown: no evidence, no change.
    this.#lastVerdict = verdict;
    return this.#decision(now, verdict, why);
  }

  #decision(now: number, verdict: Verdict, why: string): IdleDecision {
    const quietSince = this.#quietSince;
    const stopsAt = quietSince === null ? null : quietSince + this.maxMs;
    return {
      state: this.#idle ? 'idle' : 'active',
      quietSince,
      idleMs: quietSince === null ? 0 : Math.max(0, now - quietSince),
      stopsAt,
      warn: stopsAt !== null && now >= stopsAt - this.warningMs,
      stop: stopsAt !== null && now >= stopsAt,
      verdict,
      why,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

import { audit, IDLE_LIMIT_ACTOR } from '../audit/audit-log.ts';
import type { Logger } from 'pino';
import type { ConsoleFeed } from '../console/console-feed.ts';
import type { Clock, IdleState, Instance, Store } from '../store/store.ts';
import { IdleDetector, type AgentSignals, type IdleDecision, type IdleDetectorOptions } from './idle-detector.ts';

/*
 * Control's idle monitor (issue 6, "Idle detection"): one IdleDetector per active or idle
 * instance, fed by the agent samples handler (control/api/agents.ts) and the gateway stats
 * handler (control/api/metrics.ts), and a tick (every second) that acts on the decisions:
 *
 * - the store's quietSince follows the detector's (instance view: idleSeconds);
 * - active → idle and idle → active go through `store.instances.updateStatus`, so the status
 *   table is enforced; each change is a console line;
 * - ahead of the limit (WHARF_IDLE_WARNING_S, default 10 min) the warning: a console line and the
 *   status reason `idle: stops at <ISO time>` (IDLE_WARNING_PREFIX), which the instance view
 *   turns into `idleWarning {stopsAt, secondsLeft}`; it is cleared when the quiet period ends.
 *   A status reason that is not the monitor's ("agent offline") is never overwritten;
 * - at the limit: `stopping` with the reason "idle limit reached" (IDLE_LIMIT_REASON); the agent
 *   gets the stop from its heartbeat, snapshots the workspace and stops the app.
 *
 * After a control restart the detectors resume from the store (quietSince, and whether the
 * instance was idle), so the idle clock is not reset by a restart. Observations that arrive
 * before the tick has seen an instance are kept (a few per instance) and replayed into its
 * detector; those of instances that are not active or idle are dropped.
 */

export const IDLE_LIMIT_REASON = 'idle limit reached';
export const IDLE_WARNING_PREFIX = 'idle: stops at ';
export const DEFAULT_TICK_MS = 1_000;
const PENDING_PER_INSTANCE = 32;

export interface IdleMonitorOptions extends IdleDetectorOptions {
  store: Store;
  clock: Clock;
  log?: Logger;
  /** Console followers (`wharf logs -f`) are told of the monitor's lines. */
  console?: ConsoleFeed;
  /**
   * Several controls on one database: whether this one acts (a tick that is not the lead's
   * only keeps what it observed). Every control observes everything (`onObserve`, `replay`),
   * so that whichever leads decides on every agent's samples and every gateway's traffic.
   */
  lead?: () => Promise<boolean>;
  /** Told of each observation reported to this control, for the other controls. */
  onObserve?: (observation: SharedObservation) => void;
}

export interface IdleTickResult {
  idle: string[];
  active: string[];
  warned: string[];
  stopped: string[];
}

type Observation =
  | { kind: 'sample'; at: number; signals: AgentSignals }
  | { kind: 'traffic'; at: number; source: string; bytes: number; intervalMs: number };

/** An observation as controls pass it to one another. */
export type SharedObservation = Observation & { instance: string };

const SIGNAL_FIELDS = ['cpuPercent', 'gpuPercent', 'networkBytesPerS', 'networkRxBytesPerS', 'networkTxBytesPerS', 'activityAt'] as const;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** An observation another control sent, checked field by field; undefined when it is not one. */
export function readSharedObservation(value: unknown): SharedObservation | undefined {
  const o = value as Partial<Record<string, unknown>> | null;
  if (!o || typeof o.instance !== 'string' || !finite(o.at)) return undefined;
  if (o.kind === 'traffic') {
    if (typeof o.source !== 'string' || !finite(o.bytes) || !finite(o.intervalMs)) return undefined;
    return { instance: o.instance, kind: 'traffic', at: o.at, source: o.source, bytes: o.bytes, intervalMs: o.intervalMs };
  }
  if (o.kind !== 'sample' || typeof o.signals !== 'object' || o.signals === null) return undefined;
  const raw = o.signals as Record<string, unknown>;
  const signals: AgentSignals = {};
  for (const field of SIGNAL_FIELDS) if (finite(raw[field])) signals[field] = raw[field];
  return { instance: o.instance, kind: 'sample', at: o.at, signals };
}

interface Tracked {
  detector: IdleDetector;
  /** The quiet period the warning was given for (a new quiet period warns again). */
  warnedFor: number | null;
}

/** The warning's status reason for a stop at `stopsAt`. */
export function idleWarningReason(stopsAt: number): string {
  return `${IDLE_WARNING_PREFIX}${new Date(stopsAt).toISOString()}`;
}

export function isIdleWarningReason(reason: string | null): boolean {
  return reason !== null && reason.startsWith(IDLE_WARNING_PREFIX);
}

/** `2 h`, `10 min`, `18 s`: a duration for console lines. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round((s / 3600) * 10) / 10} h`;
}

export class IdleMonitor {
  readonly #o: IdleMonitorOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #pending = new Map<string, Observation[]>();
  #timer: NodeJS.Timeout | undefined;
  #exact: NodeJS.Timeout | undefined;
  #nextStop: number | undefined;
  #running: Promise<IdleTickResult> | undefined;

  constructor(options: IdleMonitorOptions) {
    this.#o = options;
  }

  /** An agent's resource sample for `instance`, received at `at` (control's clock). */
  sample(instance: string, signals: AgentSignals, at: number = this.#o.clock()): void {
    this.#observe(instance, { kind: 'sample', at, signals });
    // To the other controls: the fields the detector reads, none of the rest of the sample.
    const shared: AgentSignals = {};
    for (const field of SIGNAL_FIELDS) if (finite(signals[field])) shared[field] = signals[field];
    this.#o.onObserve?.({ instance, kind: 'sample', at, signals: shared });
  }

  /** A gateway's traffic for `instance`'s route: bytes in + out over [from, to]. */
  traffic(instance: string, source: string, delta: { bytesIn: number; bytesOut: number; interval: { from: number; to: number } }, at: number = this.#o.clock()): void {
    const o: Observation = { kind: 'traffic', at, source, bytes: delta.bytesIn + delta.bytesOut, intervalMs: delta.interval.to - delta.interval.from };
    this.#observe(instance, o);
    this.#o.onObserve?.({ instance, ...o });
  }

  /** Observations another control was told of. */
  replay(observations: readonly SharedObservation[]): void {
    for (const { instance, ...o } of observations) this.#observe(instance, o);
  }


  #observe(instance: string, o: Observation): void {
    const tracked = this.#tracked.get(instance);
    if (tracked) {
      apply(tracked.detector, o);
      return;
    }
    let list = this.#pending.get(instance);
    if (!list) this.#pending.set(instance, (list = []));
    list.push(o);
    if (list.length > PENDING_PER_INSTANCE) list.shift();
  }

  /** The detector's decision for an instance it tracks, at `now` (tests, diagnostics). */
  decision(instance: string, now: number = this.#o.clock()): IdleDecision | undefined {
    return this.#tracked.get(instance)?.detector.decide(now);
  }

  /** One pass over the active and idle instances; a pass asked for while one runs gets its result. */
  tick(): Promise<IdleTickResult> {
    this.#running ??= this.#tick().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * Ticks every `intervalMs` until `stop`, and once more at the moment a stop falls due between
   * two ticks (so that a stop is not up to a tick late); the timers do not keep the process alive.
   */
  start(intervalMs: number = DEFAULT_TICK_MS): void {
    this.stop();
    const run = () => {
      this.tick().then(() => {
        const due = this.#nextStop;
        if (!this.#timer || due === undefined) return;
        const wait = due - this.#o.clock();
        if (wait >= intervalMs) return;
        clearTimeout(this.#exact);
        this.#exact = setTimeout(run, Math.max(0, wait) + 2); // timers may fire a little early
        this.#exact.unref();
      }).catch((err: unknown) => this.#o.log?.error({ err }, 'idle monitor tick failed'));
    };
    this.#timer = setInterval(run, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    clearTimeout(this.#exact);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #tick(): Promise<IdleTickResult> {
    const { store, clock } = this.#o;
    const result: IdleTickResult = { idle: [], active: [], warned: [], stopped: [] };
    this.#nextStop = undefined;
    // Another control leads: it acts, on what every control observed; this one keeps observing.
    if (this.#o.lead && !(await this.#o.lead())) return result;
    // A few columns per instance each second; the full instance (its idle config) only once, when first tracked.
    const instances = await store.instances.idleStates();
    const live = new Set(instances.map((i) => i.id));
    for (const id of this.#tracked.keys()) if (!live.has(id)) this.#tracked.delete(id);
    for (const id of this.#pending.keys()) if (!live.has(id)) this.#pending.delete(id);
    for (const instance of instances) {
      try {
        if (!this.#tracked.has(instance.id)) {
          const full = await store.instances.get(instance.id);
          if (!full) continue;
          this.#track(full, clock());
        }
        await this.#step(instance, clock(), result);
      } catch (err) {
        // It changed under us (a user stop, a late agent report): the next tick looks again.
        this.#o.log?.warn({ err, instance: instance.id }, 'idle monitor: could not act on the instance');
      }
    }
    return result;
  }

  #track(instance: Instance, now: number): Tracked {
    let tracked = this.#tracked.get(instance.id);
    if (tracked) return tracked;
    const { store: _s, clock: _c, log: _l, console: _f, ...options } = this.#o;
    const pending = this.#pending.get(instance.id) ?? [];
    this.#pending.delete(instance.id);
    const since = Math.min(now, ...pending.map((o) => o.at));
    const detector = new IdleDetector(instance.config.idle, options, { since, quietSince: instance.quietSince, idle: instance.status === 'idle' });
    for (const o of pending) apply(detector, o);
    tracked = { detector, warnedFor: isIdleWarningReason(instance.statusReason) ? instance.quietSince : null };
    this.#tracked.set(instance.id, tracked);
    return tracked;
  }

  async #step(instance: IdleState, now: number, result: IdleTickResult): Promise<void> {
    const { store, log } = this.#o;
    const tracked = this.#tracked.get(instance.id)!;
    const d = tracked.detector.decide(now);
    const id = instance.id;
    if (d.stopsAt !== null && !d.stop) this.#nextStop = Math.min(this.#nextStop ?? Infinity, d.stopsAt);
    if (d.quietSince !== instance.quietSince) await store.instances.setQuietSince(id, d.quietSince);
    let reason = instance.statusReason;

    if (d.stop) {
      await store.instances.updateStatus(id, 'stopping', IDLE_LIMIT_REASON);
      await audit(store, IDLE_LIMIT_ACTOR, 'instance.stop', { instance: id, detail: { from: instance.status, idleSeconds: Math.round(d.idleMs / 1000) } });
      this.#tracked.delete(id);
      result.stopped.push(id);
      log?.info({ instance: id, idleMs: d.idleMs, quietSince: d.quietSince }, 'idle limit reached: stopping');
      await this.#console(id, `[wharf] ${IDLE_LIMIT_REASON}: idle for ${humanDuration(d.idleMs)} (limit ${humanDuration(tracked.detector.maxMs)}), stopping; the workspace is snapshotted first`, now);
      return;
    }

    if (d.state === 'idle' && instance.status === 'active') {
      await store.instances.updateStatus(id, 'idle', reason);
      result.idle.push(id);
      log?.info({ instance: id, quietSince: d.quietSince }, 'instance idle');
      await this.#console(id, `[wharf] idle since ${iso(d.quietSince!)}: CPU, GPU, network and gateway traffic under the thresholds; stops at ${iso(d.stopsAt!)} unless it is used`, now);
    } else if (d.state === 'active' && instance.status === 'idle') {
      reason = isIdleWarningReason(reason) ? null : reason;
      await store.instances.updateStatus(id, 'active', reason);
      tracked.warnedFor = null;
      result.active.push(id);
      log?.info({ instance: id, why: d.why }, 'instance active again');
      await this.#console(id, `[wharf] active again (${d.why})`, now);
    }

    if (d.warn && d.quietSince !== null) {
      const text = idleWarningReason(d.stopsAt!);
      if ((reason === null || isIdleWarningReason(reason)) && reason !== text) {
        await store.instances.setStatusReason(id, text);
        reason = text;
      }
      if (tracked.warnedFor !== d.quietSince) {
        tracked.warnedFor = d.quietSince;
        result.warned.push(id);
        log?.info({ instance: id, stopsAt: d.stopsAt }, 'idle warning');
        await this.#console(id, `[wharf] idle warning: idle for ${humanDuration(d.idleMs)}, the idle limit (${humanDuration(tracked.detector.maxMs)}) stops it at ${iso(d.stopsAt!)} (in ${humanDuration(d.stopsAt! - now)}) unless it is used`, now);
      }
    } else if (isIdleWarningReason(reason)) {
      await store.instances.setStatusReason(id, null);
      tracked.warnedFor = null;
    }
  }

  async #console(instance: string, text: string, at: number): Promise<void> {
    const seq = await this.#o.store.console.append(instance, [{ text, stream: 'event', at }]);
    this.#o.console?.notify(instance, seq);
  }
}

function apply(detector: IdleDetector, o: Observation): void {
  if (o.kind === 'sample') detector.agentSample(o.at, o.signals);
  else detector.traffic(o.at, { source: o.source, bytes: o.bytes, intervalMs: o.intervalMs });
}

const iso = (ms: number) => new Date(ms).toISOString();

import type { InstanceView } from '../../../control/instances/instance-view.ts';
import type { InstanceStatus } from '../../../protocol/instance-status.ts';
import { duration } from '../format.ts';

/* What the instance page reads from control's instance view between updates: pure (view.test.ts). */

export type { InstanceView };

/**
 * The instance runs or is on its way (queued, setting up, active, idle): its figures are "now"
 * and its addresses lead somewhere. Stopping, stopped and failed ones have neither: the page
 * shows their last figures as such and no link.
 */
export function isLive(status: InstanceStatus): boolean {
  return status === 'queued' || status === 'starting' || status === 'active' || status === 'idle';
}

/** Checks that an event's data is an instance view of the instance shown. */
export function isInstanceView(data: unknown, id: string): data is InstanceView {
  if (!data || typeof data !== 'object') return false;
  const d = data as Partial<InstanceView>;
  return d.id === id && typeof d.status === 'string' && typeof d.links === 'object' && d.links !== null && typeof d.config === 'object';
}

/**
 * Idle seconds `elapsedMs` after the view arrived. The clock runs only while the instance is
 * quiet (idle, or active with a quiet period begun); a view with 0 may be busy, so it waits
 * for the next one.
 */
export function idleSecondsNow(view: Pick<InstanceView, 'idleSeconds' | 'idleSince'>, elapsedMs: number): number | null {
  if (view.idleSeconds === null) return null;
  // A quiet period (idleSince set) counts on between events; a busy instance stays at 0.
  return view.idleSince !== null ? view.idleSeconds + Math.max(0, Math.floor(elapsedMs / 1000)) : view.idleSeconds;
}

/**
 * The idle clock in words. It is not the status: an `active` instance can be quiet for a while
 * before it turns `idle` (control's idle window), so the words say what is counted (time
 * without activity) rather than "idle for", which read as a contradiction beside "active".
 */
export function idleWords(view: Pick<InstanceView, 'status' | 'idleSeconds' | 'idleSince'>, elapsedMs: number): string {
  const s = idleSecondsNow(view, elapsedMs);
  if (s === null) return view.status === 'queued' || view.status === 'starting' ? 'not started yet' : 'not running';
  return s === 0 ? 'in use now' : `no activity for ${duration(s)}`;
}

/**
 * What the idle time leads to, for the hint under it: control stops an instance once it has had
 * no activity (requests, CPU, network, the app's own report) for `idle.maxHours` (README "Idle
 * shutdown"), whatever its status shows. Short: it sits in a narrow column on a phone.
 */
export function idleLimitWords(maxHours: number): string {
  return `Wharf stops it after ${duration(maxHours * 3600)} without activity.`;
}

/**
 * Seconds until the idle stop, `elapsedMs` after the view arrived, never below 0. Counted from
 * control's `secondsLeft` rather than `stopsAt`, so that a browser clock set wrong does not matter
 * (as the idle clock); control sends no event for the countdown alone.
 */
export function secondsLeft(warning: { secondsLeft: number }, elapsedMs: number): number {
  return Math.max(0, warning.secondsLeft - Math.max(0, Math.floor(elapsedMs / 1000)));
}

/** `Stops in 4m 10s`, coarse past an hour. */
export function countdown(seconds: number): string {
  if (seconds <= 0) return 'Stopping now';
  if (seconds < 3600 && seconds >= 60) return `Stops in ${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `Stops in ${duration(seconds)}`;
}

/** What an instance's apps serve, in words for the summary. */
export function appWords(view: Pick<InstanceView, 'app' | 'config'>): string {
  const mode = view.config.routing.mode;
  const kind = view.app === 'jupyter' ? 'Jupyter' : 'container';
  return mode === 'none' ? `${kind} (not routed)` : `${kind}, ${mode.toUpperCase()} on port ${view.config.routing.port ?? '?'}`;
}

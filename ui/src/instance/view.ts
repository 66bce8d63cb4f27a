import type { InstanceView } from '../../../control/instances/instance-view.ts';
import type { StatusDisplay } from '../format.ts';
import { duration } from '../format.ts';

/* What the instance page reads from control's instance view between updates: pure (view.test.ts). */

export type { InstanceView };

/** A shape as well as a colour, so that the status reads without colour too (as on the list). */
export const STATUS_ICONS: Record<StatusDisplay['kind'], string> = {
  queued: '○', starting: '◔', active: '●', idle: '◑', stopping: '◕', stopped: '■', failed: '✕', offline: '⚠',
};

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
export function idleSecondsNow(view: Pick<InstanceView, 'status' | 'idleSeconds'>, elapsedMs: number): number | null {
  if (view.idleSeconds === null) return null;
  const running = view.status === 'idle' || view.idleSeconds > 0;
  return running ? view.idleSeconds + Math.max(0, Math.floor(elapsedMs / 1000)) : view.idleSeconds;
}

export function idleWords(view: Pick<InstanceView, 'status' | 'idleSeconds'>, elapsedMs: number): string {
  const s = idleSecondsNow(view, elapsedMs);
  if (s === null) return 'not running';
  return s === 0 ? 'in use' : `idle for ${duration(s)}`;
}

/** Seconds until the idle stop at `nowMs`, never below 0. */
export function secondsLeft(stopsAt: string, nowMs: number): number {
  return Math.max(0, Math.ceil((Date.parse(stopsAt) - nowMs) / 1000));
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

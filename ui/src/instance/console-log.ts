/* The console's pure parts: what one line shows, when to follow the bottom, what to drop (console-log.test.ts). */

/** One event of GET /api/v1/instances/:id/console?follow=1 (control/api/console.ts, lineView). */
export interface ConsoleEvent {
  seq: number;
  at: string;
  stream: 'event' | 'stdout' | 'stderr';
  text: string;
}

/** The most lines kept on the page; older ones are dropped as new ones arrive. */
export const MAX_LINES = 2000;

/** Distance from the bottom (px) within which the log still counts as "at the bottom". */
export const STICK_PX = 24;

export function atBottom(scrollTop: number, clientHeight: number, scrollHeight: number): boolean {
  return scrollHeight - scrollTop - clientHeight <= STICK_PX;
}

/** How many of the oldest lines to remove after adding `adding` to `shown`. */
export function overflow(shown: number, adding: number, max = MAX_LINES): number {
  return Math.max(0, shown + adding - max);
}

/** Checks one event's data; null for anything else (a line we cannot read is skipped). */
export function consoleEvent(data: unknown): ConsoleEvent | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  if (typeof d.seq !== 'number' || typeof d.at !== 'string' || typeof d.text !== 'string') return null;
  if (d.stream !== 'event' && d.stream !== 'stdout' && d.stream !== 'stderr') return null;
  return { seq: d.seq, at: d.at, stream: d.stream, text: d.text };
}

/** How a line is shown: its class on the `<li>` and the label before its text (none for the app's output). */
export interface LineLook {
  className: string;
  label: string | null;
}

/**
 * The app's stdout and stderr are both its output and look alike: many apps log ordinary
 * progress to stderr (Jupyter all of it), so stderr in red read as failures. The stream stays
 * in the data (`data-stream`) for whoever wants it; Wharf's own events keep their label.
 */
export function lineLook(stream: ConsoleEvent['stream']): LineLook {
  return stream === 'event' ? { className: 'line event', label: 'wharf' } : { className: 'line output', label: null };
}

/** `14:03:07` in UTC from the line's ISO time (the full time is its title). */
export function clock(at: string): string {
  const m = /T(\d{2}:\d{2}:\d{2})/.exec(at);
  return m ? m[1] : at;
}

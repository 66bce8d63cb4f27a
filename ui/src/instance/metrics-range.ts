/*
 * How far back the instance charts look (`?range=` in the page's address). control keeps 10 s
 * points for a day and 1 min points for a week (control/metrics/history.ts); a longer range is
 * read less often, since its newest minute changes less of it. Pure: no DOM, no clock.
 */

export interface MetricsRange {
  id: string;
  label: string;
  ms: number;
  /** How often the charts are read again. */
  refreshMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const RANGES: readonly MetricsRange[] = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * MINUTE, refreshMs: 5_000 },
  { id: '1h', label: 'Last hour', ms: HOUR, refreshMs: 5_000 },
  { id: '6h', label: 'Last 6 hours', ms: 6 * HOUR, refreshMs: 15_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * HOUR, refreshMs: 30_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * HOUR, refreshMs: 60_000 },
];

export const DEFAULT_RANGE = RANGES[1]!;

/** The range an address asks for; the last hour when it asks for none or for one we do not have. */
export function rangeOf(id: string | null): MetricsRange {
  return RANGES.find((r) => r.id === id) ?? DEFAULT_RANGE;
}

/** control's metrics of instance `id` over `range`, up to `nowMs`. */
export function metricsPath(id: string, range: MetricsRange, nowMs: number): string {
  return `/api/v1/instances/${encodeURIComponent(id)}/metrics?from=${Math.floor(nowMs - range.ms)}`;
}

/** `Refreshed every 5 seconds`, for the hint beside the picker. */
export function refreshWords(range: MetricsRange): string {
  const s = range.refreshMs / 1000;
  return s < 60 ? `Refreshed every ${s} seconds` : `Refreshed every ${s / 60 === 1 ? 'minute' : `${s / 60} minutes`}`;
}

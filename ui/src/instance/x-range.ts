/*
 * The time (x) scale of the instance charts, in Unix seconds as uPlot wants them. Pure: no DOM,
 * no clock (x-range.test.ts).
 *
 * Worked out from the data and the answer's window only, never from the min and max that uPlot
 * hands its `range` callback: with a single point on a time scale, uPlot's autoScaleX passes
 * max = min + 86400 / ms, which with ms = 1e-3 (seconds) is 86.4 million seconds, about 2.7
 * years, so the axis showed years (2027 2028 2029) with the lone point at its left edge.
 * Cursor zoom is off, so there is no zoomed range those arguments would need to carry.
 */

/** The x axis shows at least this much time, so that a new instance's first points are not squeezed into a line. */
export const MIN_SPAN_S = 5 * 60;

/**
 * [min, max] in seconds: up to the end of the window (or the last point, if later), back at
 * least `minSpanS` (further if the points go further back), but not before the window's start.
 * `x`: the points' times, seconds, ascending; `fromMs`, `toMs`: the answer's window.
 */
export function xRange(x: ArrayLike<number>, fromMs: number, toMs: number, minSpanS = MIN_SPAN_S): [number, number] {
  const first = x.length > 0 ? x[0] : NaN;
  const last = x.length > 0 ? x[x.length - 1] : NaN;
  const to = Math.max(toMs / 1000, Number.isFinite(last) ? last : -Infinity);
  const from = Math.min(to - minSpanS, Number.isFinite(first) ? first : Infinity);
  return [Math.max(from, fromMs / 1000), to];
}

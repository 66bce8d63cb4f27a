/*
 * The time (x) scale of the instance charts, in Unix seconds as uPlot wants them. Pure: no DOM,
 * no clock (x-range.test.ts).
 *
 * The axis is the range picked ("Last hour" draws the hour, however few points it holds), so
 * that a glance tells how long ago things happened and a quiet stretch looks quiet; points of
 * a new instance sit at its right-hand end. It used to stretch the points to at least five
 * minutes, which drew an hour's chart as a few minutes.
 *
 * Worked out from the answer's window only, never from the min and max that uPlot hands its
 * `range` callback: with a single point on a time scale, uPlot's autoScaleX passes
 * max = min + 86400 / ms, which with ms = 1e-3 (seconds) is 86.4 million seconds, about 2.7
 * years. Cursor zoom is off, so there is no zoomed range those arguments would need to carry.
 */

/**
 * [min, max] in seconds: the answer's window [`fromMs`, `toMs`], widened to a point outside it
 * (a browser or host clock set wrong). `x`: the points' times, seconds, ascending.
 */
export function xRange(x: ArrayLike<number>, fromMs: number, toMs: number): [number, number] {
  const first = x.length > 0 ? x[0] : NaN;
  const last = x.length > 0 ? x[x.length - 1] : NaN;
  const from = Math.min(fromMs / 1000, Number.isFinite(first) ? first : Infinity);
  const to = Math.max(toMs / 1000, Number.isFinite(last) ? last : -Infinity);
  // A window of no length (never from control) would give uPlot an empty scale.
  return to > from ? [from, to] : [to - 60, to];
}

/*
 * The instance charts' value (y) axes and markers, the parts that are arithmetic: tick steps
 * people read at a glance, the axis width that fits its widest label, and which samples a
 * line cannot show. Pure: no DOM, no canvas (y-axis.test.ts).
 */

/**
 * Tick steps for bytes: powers of two in each binary unit (…, 256 KiB, 512 KiB, 1 MiB, 2 MiB, …),
 * so that the labels are round in the units `bytes()` writes (`64 MiB`, not uPlot's decimal
 * steps, which wrote `47.7 MiB` and `143 MiB`).
 */
export const BYTE_STEPS: readonly number[] = Array.from({ length: 50 }, (_, i) => 2 ** i);

/**
 * Width of a y axis in CSS pixels: the widest of its `labels` as `measure` gives it, plus the
 * tick and the gap beside it. A fixed width clipped the longer labels (`977 KiB`, `1.5 GiB`) on
 * the left; `min` keeps the plots of a page roughly aligned when the labels are short.
 */
export function axisWidth(labels: readonly (string | null)[], measure: (text: string) => number, tickAndGap: number, min = 40): number {
  let widest = 0;
  for (const label of labels) if (label) widest = Math.max(widest, measure(label));
  // One pixel more than measured: canvas text widths are fractional and anti-aliased.
  return Math.max(min, Math.ceil(widest + tickAndGap + 1));
}

/**
 * The samples a line cannot show, to be marked with a dot: those with no sample on either side
 * (a line is drawn between neighbours, so a lone one was a 2 px speck), or, for a line that joins
 * its samples across gaps (`joined`), the only one there is.
 */
export function loneSamples(values: ArrayLike<number | null | undefined>, joined: boolean): number[] {
  const has = (i: number) => i >= 0 && i < values.length && values[i] !== null && values[i] !== undefined;
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (has(i)) present.push(i);
  if (joined) return present.length === 1 ? present : [];
  return present.filter((i) => !has(i - 1) && !has(i + 1));
}

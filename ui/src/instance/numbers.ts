/* Number formatting for the instance page: pure, no DOM, no clock (numbers.test.ts). */

/** A count people read at a glance: `950`, `1,204`, `12.3k`, `4.5M`. */
export function count(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs < 10_000) return Math.round(n).toLocaleString('en-US');
  if (abs < 1_000_000) return `${trim(n / 1000)}k`;
  if (abs < 1_000_000_000) return `${trim(n / 1_000_000)}M`;
  return `${trim(n / 1_000_000_000)}G`;
}

/** One decimal below 100, none above, without a trailing `.0`. */
function trim(n: number): string {
  const text = Math.abs(n) < 100 ? n.toFixed(1) : n.toFixed(0);
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** Requests per second: `0/s`, `0.4/s`, `3.2/s`, `120/s`, `1.5k/s`. */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0/s';
  if (Math.abs(perSecond) < 0.1) return `${perSecond.toFixed(2)}/s`;
  if (Math.abs(perSecond) < 1000) return `${trim(perSecond)}/s`;
  return `${count(perSecond)}/s`;
}

/** A latency in milliseconds: `0.4 ms`, `12 ms`, `1.3 s`. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 10) return `${trim(value)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${trim(value / 1000)} s`;
}

/** A percentage: `0%`, `4.2%`, `87%`. */
export function percent(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return `${trim(value)}%`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units: `512 B`, `1.5 KiB`, `48 MiB`, `2 GiB`. */
export function bytes(value: number): string {
  if (!Number.isFinite(value)) return '—';
  let v = Math.abs(value);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const sign = value < 0 ? '-' : '';
  return unit === 0 ? `${sign}${Math.round(v)} B` : `${sign}${trim(v)} ${UNITS[unit]}`;
}

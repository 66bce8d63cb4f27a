/** Numbers as the report and the progress lines show them. */
export const formatRps = (n: number) => Math.round(n).toLocaleString('en-US');
export const formatMs = (ms: number) => (Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms` : 'n/a');
export const formatUs = (us: number) => (Number.isFinite(us) ? `${us < 100 ? us.toFixed(1) : Math.round(us).toLocaleString('en-US')} µs` : 'n/a');

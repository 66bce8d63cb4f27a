import { BODIES } from './bodies.ts';
import { formatMs, formatRps } from './format.ts';
import { roundsFor } from './groups/routes.ts';
import type { WrkResult } from './load/wrk.ts';
import { HTTP_PEER_LABELS, WS_PEER_LABELS, type BenchResult, type Target } from './results.ts';


function formatErrors(w: WrkResult): string {
  if (w.errors === 0) return '0';
  const s = w.socketErrors;
  const parts = [['≥400', w.non2xx], ['connect', s.connect], ['read', s.read], ['write', s.write], ['timeout', s.timeout]]
    .filter(([, n]) => (n as number) > 0)
    .map(([k, n]) => `${k} ${n}`);
  return `${w.errors} (${parts.join(', ')})`;
}

function table(head: string[], rows: string[][], right: number[]): string {
  const align = head.map((_, i) => (right.includes(i) ? '---:' : '---'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function formatTarget(t: Target): string {
  if (!Number.isFinite(t.value)) return 'n/a';
  if (t.unit === 'ms') return formatMs(t.value);
  if (t.unit === 'change') return `${t.value >= 1 ? '+' : '−'}${(Math.abs(t.value - 1) * 100).toFixed(1)}%`;
  return `${t.value.toFixed(2)}×`;
}

/** The report as Markdown: bench/RESULTS.md, and what the CLI prints. */
export function renderReport(r: BenchResult): string {
  const v = r.versions;
  const out: string[] = [];
  out.push('# Wharf gateway benchmark', '');
  out.push(`- Date: ${r.date}`);
  out.push(`- Command: \`${r.command}\``);
  out.push(`- Machine: ${v.cpu}, ${v.nproc} CPUs (nproc), ${v.kernel}`);
  out.push(`- Load average when the run started (1, 5, 15 min): ${r.loadAverage.map((n) => n.toFixed(2)).join(', ')}`);
  out.push(`- Versions: Node ${v.node}, nginx ${v.nginx}, ${v.wrk}, configurable-http-proxy ${v.configurableHttpProxy}`);
  out.push(`- Load: wrk -t1 -c50, keep-alive, HTTPS everywhere except "direct"; each case ${r.durationS} s after a ${r.warmupS} s warm-up;` +
    ' one upstream for all cases (nginx, 1 worker); each peer runs alone, started and stopped around its cases.');
  out.push('- Errors: responses with status ≥ 400 (wrk\'s "Non-2xx or 3xx") plus socket errors (connect, read, write, timeout).', '');

  out.push('## HTTP throughput', '');
  out.push(table(['Case', 'Body', 'req/s', 'body Gbit/s', 'p50', 'p99', 'errors'], r.http.map((c) => [
    HTTP_PEER_LABELS[c.peer],
    BODIES[c.body].label,
    formatRps(c.wrk.rps),
    ((c.wrk.rps * BODIES[c.body].bytes * 8) / 1e9).toFixed(2),
    formatMs(c.wrk.p50Ms),
    formatMs(c.wrk.p99Ms),
    formatErrors(c.wrk),
  ]), [2, 3, 4, 5]), '');

  const { rounds, roundS } = roundsFor(r.durationS);
  out.push('## Route table size (gateway, 100 B, random host among N route hosts per request)', '');
  out.push(`Both tables measured in ${rounds} alternating round(s) of ${roundS} s; p50 and p99 are the request-weighted mean over the rounds.`, '');
  out.push(table(['Routes', 'req/s', 'p50', 'p99', 'errors'], r.routes.map((c) => [
    c.routes.toLocaleString('en-US'),
    formatRps(c.wrk.rps),
    formatMs(c.wrk.p50Ms),
    formatMs(c.wrk.p99Ms),
    formatErrors(c.wrk),
  ]), [0, 1, 2, 3]), '');

  out.push('## WebSocket echo round trips (one connection, sequential, 32-byte binary message)', '');
  const direct = r.ws.find((c) => c.peer === 'direct');
  out.push(table(['Path', 'round trips', 'p50', 'p99', 'added p99', 'errors'], r.ws.map((c) => [
    WS_PEER_LABELS[c.peer],
    c.ws.roundTrips.toLocaleString('en-US'),
    formatMs(c.ws.p50Ms),
    formatMs(c.ws.p99Ms),
    c.peer === 'direct' || !direct ? '' : formatMs(c.ws.p99Ms - direct.ws.p99Ms),
    String(c.ws.errors),
  ]), [1, 2, 3, 4]), '');

  out.push('## Targets', '');
  out.push(table(['Target', 'Value', 'Goal', 'Result'], r.targets.map((t) => [
    t.name,
    formatTarget(t),
    t.goal,
    t.met ? 'met' : '**missed**',
  ]), [1]), '');
  return out.join('\n');
}

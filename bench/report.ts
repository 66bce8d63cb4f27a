import { readFileSync } from 'node:fs';
import { BODIES } from './bodies.ts';
import { formatMs, formatRps, formatUs } from './format.ts';
import { propagationSamples } from './groups/route-latency.ts';
import { endToEndSamples } from './groups/route-propagation.ts';
import { roundsFor } from './groups/routes.ts';
import { BULK_STREAMS, CONNECT_CONCURRENCY, REDIS_CLIENTS } from './groups/tcp.ts';
import { H1_CLIENTS, H2_CLIENTS, H2_STREAMS } from './groups/throughput.ts';
import type { CpuPerRequest } from './load/cpu-per-request.ts';
import type { WrkResult } from './load/wrk.ts';
import { H2_PEER_LABELS, HTTP_PEER_LABELS, REDIS_PEERS, REDIS_TESTS, TCP_PEER_LABELS, WS_PEER_LABELS, type BenchResult, type Target } from './results.ts';


function formatErrors(w: WrkResult): string {
  if (w.errors === 0) return '0';
  const s = w.socketErrors;
  const parts = [['≥400', w.non2xx], ['connect', s.connect], ['read', s.read], ['write', s.write], ['timeout', s.timeout]]
    .filter(([, n]) => (n as number) > 0)
    .map(([k, n]) => `${k} ${n}`);
  return `${w.errors} (${parts.join(', ')})`;
}

/** CPU per request, flagged when its run had errors (then it is not the cost of a served request). */
const formatCpu = (c: CpuPerRequest | undefined) => (c ? `${formatUs(c.usPerRequest)}${c.load.errors ? ` (${c.load.errors} errors)` : ''}` : '');

function table(head: string[], rows: string[][], right: number[]): string {
  const align = head.map((_, i) => (right.includes(i) ? '---:' : '---'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function formatTarget(t: Target): string {
  if (!Number.isFinite(t.value)) return 'n/a';
  if (t.unit === 'ms') return formatMs(t.value);
  if (t.unit === 'MB/s') return `${t.value.toFixed(1)} MB/s`;
  if (t.unit === 'change') return `${t.value >= 1 ? '+' : '−'}${(Math.abs(t.value - 1) * 100).toFixed(1)}%`;
  return `${t.value.toFixed(2)}×`;
}

/** The report as Markdown: bench/RESULTS.md, and what the CLI prints. */
const COST_CUTS_FILE = new URL('./cost-cuts.md', import.meta.url).pathname;

export function renderReport(r: BenchResult): string {
  const v = r.versions;
  const out: string[] = [];
  out.push('# Wharf gateway benchmark', '');
  out.push(`- Date: ${r.date}`);
  out.push(`- Command: \`${r.command}\``);
  out.push(`- Machine: ${v.cpu}, ${v.nproc} CPUs (nproc), ${v.kernel}`);
  out.push(`- Load average when the run started (1, 5, 15 min): ${r.loadAverage.map((n) => n.toFixed(2)).join(', ')}`);
  out.push(`- Versions: Node ${v.node}, nginx ${v.nginx}, ${v.wrk}, configurable-http-proxy ${v.configurableHttpProxy}, Caddy ${v.caddy}, h2load ${v.h2load}, HAProxy ${v.haproxy}, Redis ${v.redis}`);
  out.push(`- HTTP load: wrk -t1 -c50, keep-alive, HTTPS everywhere except "direct"; each case ${r.durationS} s after a ${r.warmupS} s warm-up;` +
    ` one upstream for all cases (nginx, 1 worker); every peer is started first, then each is loaded alone (the others idle) in ${r.throughputRounds} round(s),` +
    ' the second in the reverse order, because this VM\'s CPU speed drifts within minutes; a peer\'s figures are those of all its rounds together' +
    ' (requests over seconds, request-weighted latency, CPU over requests).' +
    ' One core each where the peer can be told: the gateway with `--workers 1` (except the `--workers 2` row), nginx with 1 worker, Caddy with GOMAXPROCS=1;' +
    ' the gateway, nginx and Caddy offer h2 and HTTP/1.1 by ALPN on the same port, and wrk speaks HTTP/1.1.');
  out.push('- Errors: responses with status ≥ 400 (wrk\'s "Non-2xx or 3xx") plus socket errors (connect, read, write, timeout).');
  out.push(`- Raw TCP: plain TCP on loopback, no TLS; the gateway's raw route (\`kind: tcp\`), nginx's stream module (1 worker) and HAProxy \`mode tcp\` (1 thread), each with its defaults and alone, in front of` +
    ' apps in processes of their own (a Node sink that discards and counts, a Node echo server, a real redis-server), with the load from processes of their own;' +
    ` bulk: ${BULK_STREAMS} streams writing as fast as backpressure allows, Gbit/s counted at the sink; connection setup: ${CONNECT_CONCURRENCY === 1 ? 'one connection at a time' : `${CONNECT_CONCURRENCY} connections at a time`},` +
    ` each connect, 1-byte echo, close; \`redis-benchmark -c ${REDIS_CLIENTS}\` sized to run about ${r.durationS} s after its warm-up.`, '');

  out.push('## HTTP throughput', '');
  out.push(`"CPU/request": CPU time (user + system, from /proc/<pid>/stat) of the proxy's own processes — all of them: nginx's master and worker,` +
    ' the gateway\'s supervisor and workers, Caddy\'s one process, configurable-http-proxy\'s and the bare server\'s Node process — over' +
    ` \`h2load --h1 -n ${r.cpuRequests.toLocaleString('en-US')} -c ${H1_CLIENTS}\` (100 B body, HTTPS, TLS handshakes included) run right after the wrk cases, divided by` +
    ' the requests completed: what a request costs the proxy, whatever its req/s. The upstream\'s and the load generator\'s CPU are not in it.' +
    ` The load generator (wrk, h2load) shares the machine's ${v.nproc} CPU(s) with the proxy, so the \`--workers 2\` row cannot show linear scaling here:` +
    ' it shows that a second worker serves, not how far workers scale.', '');
  out.push(table(['Case', 'Body', 'req/s', 'body Gbit/s', 'p50', 'p99', 'CPU/request', 'errors'], r.http.map((c) => [
    HTTP_PEER_LABELS[c.peer],
    BODIES[c.body].label,
    formatRps(c.wrk.rps),
    ((c.wrk.rps * BODIES[c.body].bytes * 8) / 1e9).toFixed(2),
    formatMs(c.wrk.p50Ms),
    formatMs(c.wrk.p99Ms),
    formatCpu(c.cpu),
    formatErrors(c.wrk),
  ]), [2, 3, 4, 5, 6]), '');

  out.push(`## HTTP/2 (h2load -n ${r.cpuRequests.toLocaleString('en-US')} -c ${H2_CLIENTS} -m ${H2_STREAMS}, 100 B, HTTPS)`, '');
  out.push(`${H2_CLIENTS} connections with ${H2_STREAMS} concurrent streams each, after a ${r.warmupS} s h2load warm-up; req/s is h2load's over the counted run,` +
    ' CPU/request as above over the same run. "protocol" is what ALPN chose: a peer that does not offer h2 shows http/1.1 (h2load then pipelines) and no ratio is taken from it.' +
    ' h2load reports the mean time per request, not percentiles.', '');
  out.push(table(['Case', 'protocol', 'req/s', 'mean', 'CPU/request', 'processes', 'errors'], r.h2.map((c) => [
    H2_PEER_LABELS[c.peer],
    c.h2.load.protocol ?? 'none',
    formatRps(c.h2.load.rps),
    formatMs(c.h2.load.meanMs),
    formatUs(c.h2.usPerRequest),
    String(c.h2.processes),
    String(c.h2.load.errors),
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

  out.push('## Route propagation (agent endpoint POST → gateway serves the route)', '');
  out.push('End to end, in real processes: `wharf control`, a `wharf gateway` fed by it (WHARF_GATEWAY_CONTROL, a key from `wharf gateways add`), and the bench as an agent' +
    ' over control\'s HTTP API. N routes are preloaded through that API (launch, lease, endpoint for each); then each sample launches and leases one more instance' +
    ' (unmeasured) and times from sending `POST /api/v1/agent/instances/:id/endpoint` until the gateway process answers a request for `<id>.apps.localhost` with' +
    ' the routed answer: the poll carries the instance\'s gateway token, so it hears 404 (no route yet) or 503 (the starting route the lease made) until then, and 502' +
    ' once routed (the endpoint is a closed port). The gateway is polled back to back on one keep-alive HTTPS connection;' +
    ` the clock stops when the first routed answer arrives, so a sample overstates by up to one poll round trip (its p50 is shown). ${endToEndSamples(r.durationS)} samples` +
    ' per table size after 20 unmeasured. "control answers" is the same POST\'s round trip to control\'s 200 (validation and store write included).', '');
  out.push(table(['Routes', 'samples', 'p50', 'p95', 'p99', 'max', 'control answers p50 / p99', 'poll round trip p50', 'preload', 'errors'], r.propagationE2e.map((c) => [
    c.routes.toLocaleString('en-US'),
    String(c.live.count),
    formatMs(c.live.p50),
    formatMs(c.live.p95),
    formatMs(c.live.p99),
    formatMs(c.live.max),
    `${formatMs(c.post.p50)} / ${formatMs(c.post.p99)}`,
    formatMs(c.poll.p50),
    `${c.preloadS.toFixed(1)} s`,
    String(c.errors),
  ]), [0, 1, 2, 3, 4, 5, 7, 8]), '');

  out.push('### Its middle part in one process (control route log → gateway live table)', '');
  out.push(`Time from a change in control's route log (\`RouteLog.upsert\` of a new route, \`RouteLog.remove\`) to the gateway's live table holding it:` +
    ' control\'s route stream writes the NDJSON delta, the gateway\'s ControlProvider reads it over a real loopback socket (HTTP, undici) and parses it,' +
    ' and `LiveRoutes.apply` builds and swaps the live table onto a table of N routes. Control and the gateway run in one process (the bench\'s own),' +
    ` ${propagationSamples(r.durationS)} changes of each kind after 50 unmeasured pairs. Not included: the agent's HTTP POST to control, control's` +
    ' validation of it and its store write (these come before the route log changes), nor the gateway\'s first request on the new route.', '');
  out.push(table(['Routes', 'change', 'changes', 'p50', 'p95', 'p99', 'max', 'errors'], r.propagation.flatMap((c) => (['add', 'remove'] as const).map((kind) => [
    c.routes.toLocaleString('en-US'),
    kind,
    String(c[kind].count),
    formatMs(c[kind].p50),
    formatMs(c[kind].p95),
    formatMs(c[kind].p99),
    formatMs(c[kind].max),
    String(c.errors),
  ])), [0, 2, 3, 4, 5, 6]), '');

  out.push('## WebSocket echo round trips (one connection, sequential, 32-byte binary message)', '');
  const wsDirect = r.ws.find((c) => c.peer === 'direct');
  out.push(table(['Path', 'round trips', 'p50', 'p99', 'added p99', 'errors'], r.ws.map((c) => [
    WS_PEER_LABELS[c.peer],
    c.ws.roundTrips.toLocaleString('en-US'),
    formatMs(c.ws.p50Ms),
    formatMs(c.ws.p99Ms),
    c.peer === 'direct' || !wsDirect ? '' : formatMs(c.ws.p99Ms - wsDirect.ws.p99Ms),
    String(c.ws.errors),
  ]), [1, 2, 3, 4]), '');

  out.push(`## Raw TCP bulk transfer (client → proxy → sink, ${BULK_STREAMS} parallel streams, counted at the sink)`, '');
  const direct = r.tcp.bulk.find((c) => c.peer === 'direct');
  out.push(table(['Path', 'Gbit/s', 'vs direct', 'GB moved', 'errors'], r.tcp.bulk.map((c) => [
    TCP_PEER_LABELS[c.peer],
    c.bulk.gbps.toFixed(2),
    direct ? `${(c.bulk.gbps / direct.bulk.gbps).toFixed(2)}×` : '',
    (c.bulk.bytes / 1e9).toFixed(1),
    String(c.bulk.errors),
  ]), [1, 2, 3]), '');

  out.push(`## Raw TCP connection setup (${CONNECT_CONCURRENCY === 1 ? 'one at a time' : `${CONNECT_CONCURRENCY} at a time`}: connect, 1-byte echo, close; latency is connect() to the echoed byte)`, '');
  const directConnect = r.tcp.connect.find((c) => c.peer === 'direct');
  out.push(table(['Path', 'connections/s', 'p50', 'p99', 'added p99', 'errors'], r.tcp.connect.map((c) => [
    TCP_PEER_LABELS[c.peer],
    formatRps(c.connect.rate),
    formatMs(c.connect.p50Ms),
    formatMs(c.connect.p99Ms),
    c.peer === 'direct' || !directConnect ? '' : formatMs(c.connect.p99Ms - directConnect.connect.p99Ms),
    String(c.connect.errors),
  ]), [1, 2, 3, 4]), '');

  out.push(`## redis-benchmark through raw TCP (-c ${REDIS_CLIENTS}, 3-byte values, no pipelining; a real redis-server)`, '');
  const cell = (peer: string, test: string) => r.tcp.redis.find((c) => c.peer === peer && c.test === test);
  out.push(table(['Path', ...REDIS_TESTS.flatMap((t) => [`${t} req/s`, `${t} p50`, `${t} p99`]), 'errors'], REDIS_PEERS.filter((p) => r.tcp.redis.some((c) => c.peer === p)).map((peer) => [
    TCP_PEER_LABELS[peer],
    ...REDIS_TESTS.flatMap((t) => {
      const c = cell(peer, t);
      return c ? [formatRps(c.redis.rps), formatMs(c.redis.p50Ms), formatMs(c.redis.p99Ms)] : ['n/a', 'n/a', 'n/a'];
    }),
    String(r.tcp.redis.filter((c) => c.peer === peer).reduce((n, c) => n + c.redis.errors, 0)),
  ]), [1, 2, 3, 4, 5, 6]), '');

  out.push('## App launch (launch → active, image present)', '');
  out.push('Real processes: `wharf control` and `wharf agent` on the local Docker Engine, the bench as the user over control\'s API. Each sample times from sending' +
    ' `POST /api/v1/instances` until `GET /api/v1/instances/:id` says `active` (polled every ' + `${r.launch.pollMs} ms` + '): lease, image check, container create,' +
    ' start, readiness (a real HTTP answer: busybox httpd, or Jupyter\'s `/api/status`) through the published port, and the endpoint report. Each launch is stopped' +
    ' and its container removed before the next; the first is a warm-up. "agent" is the agent\'s own lease → ready time from its console line.', '');
  out.push(table(['app', 'samples', 'p50', 'p95', 'max', 'agent p50', 'failed'], ([['busybox https app', r.launch], ['Jupyter (Notebook, no git or packages)', r.jupyterLaunch]] as const).map(([name, l]) => [
    name, String(l.samples), formatMs(l.p50), formatMs(l.p95), formatMs(l.max), formatMs(l.agentP50), String(l.failures),
  ]), [1, 2, 3, 4, 5, 6]), '');

  const sn = r.snapshot;
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  const tp = (t: { seconds: number; mbPerS: number }) => `${t.mbPerS.toFixed(1)} MB/s (${t.seconds.toFixed(1)} s)`;
  out.push('## Workspace snapshot and restore (MB = 10^6 bytes of workspace files, uncompressed)', '');
  out.push(`Real processes: \`wharf control\` (its snapshot store) and \`wharf agent\` on the local Docker Engine. The workspace of a busybox app holds ${mb(sn.bytes)} in` +
    ` ${sn.files.toLocaleString('en-US')} files (${sn.symlinks} symlinks): a third random data in large files, a third log-like text, a third small files of 4–64 KiB;` +
    ' generated before the clock starts. "snapshot": `POST /api/v1/instances/:id/snapshot` sent → the snapshot listed (the agent reads Docker\'s archive, drops' +
    ' excludes, re-writes the tar, zstd, sha256, uploads). "restore": the clone\'s console from "restore: downloading" to "restored" (download with sha256, member' +
    ` checks, extraction by the Engine). The restored workspace is checked: same files, entries, symlinks and bytes — ${sn.verified ? 'it was' : '**it was not**'}.`, '');
  out.push(table(['', 'throughput', 'parts'], [
    ['snapshot', tp(sn.snapshot), `pack ${sn.snapshotAgent.packSeconds.toFixed(1)} s, upload ${sn.snapshotAgent.uploadSeconds.toFixed(1)} s; blob ${mb(sn.compressedBytes)}`],
    ['restore', tp(sn.restore), `download ${sn.restore.downloadSeconds.toFixed(1)} s, check ${sn.restore.checkSeconds.toFixed(2)} s, extract ${sn.restore.extractSeconds.toFixed(1)} s`],
    ['restore, by launch time', tp(sn.restoreByLaunch), `clone launch ${sn.restoreByLaunch.cloneLaunchSeconds.toFixed(1)} s − plain launch ${sn.restoreByLaunch.baselineLaunchSeconds.toFixed(2)} s`],
  ], [1]), '');

  out.push('## Several controls on PostgreSQL (issue 17)', '');
  out.push('Launch → active of the busybox https app (image present) as above, in real processes: N `wharf control` on the store, one `wharf agent` given' +
    ' every control (`WHARF_CONTROL_URL`), launches sent to each control in turn. Store operations: one at a time, as a control\'s request does them, on' +
    ' a fresh database (PostgreSQL 15 from Debian on this machine, fsync off as in the tests; SQLite in WAL mode): a lease (the oldest job, leased, its instance' +
    ' starting) and a route change (an endpoint written, and on PostgreSQL its route written to the shared route table and announced to the other controls' +
    ' with NOTIFY). Between controls: a route changed through one control until the same route is in another\'s route log (written to the shared table,' +
    ' NOTIFY, then the other reads the table\'s changes), two controls on one database.' +
    ' End to end across controls: as in "Route propagation (agent endpoint POST → gateway serves the route)" above (the bench as the agent, 1,000 routes preloaded through the API by 16 callers),' +
    ' but the agent\'s calls go to control A and the gateway follows control B, both on one PostgreSQL.', '');
  out.push(table(['set-up', 'samples', 'p50', 'p95', 'max', 'failed'], r.ha.launch.map((l) => [
    l.name, String(l.samples), formatMs(l.p50), formatMs(l.p95), formatMs(l.max), String(l.failures),
  ]), [1, 2, 3, 4, 5]), '');
  out.push(table(['store', 'leases/s', 'route changes/s', 'operations'], r.ha.ops.map((o) => [
    o.store, formatRps(o.leasesPerS), formatRps(o.routeChangesPerS), String(o.operations),
  ]), [1, 2, 3]), '');
  const cc = r.ha.crossControl;
  out.push(table(['route change between controls', 'samples', 'p50', 'p95', 'p99', 'max'], [[
    'control A\'s route log → control B\'s', String(cc.samples), formatMs(cc.p50), formatMs(cc.p95), formatMs(cc.p99), formatMs(cc.max),
  ], ...(r.ha.crossControlEndToEnd ? [[
    `agent's endpoint POST to control A → gateway on control B serves it (${r.ha.crossControlEndToEnd.routes.toLocaleString('en-US')} routes, errors ${r.ha.crossControlEndToEnd.errors})`,
    String(r.ha.crossControlEndToEnd.live.count), formatMs(r.ha.crossControlEndToEnd.live.p50), formatMs(r.ha.crossControlEndToEnd.live.p95),
    formatMs(r.ha.crossControlEndToEnd.live.p99), formatMs(r.ha.crossControlEndToEnd.live.max),
  ]] : [])], [1, 2, 3, 4, 5]), '');

  out.push('## Targets', '');
  out.push('The HTTP goals are for HTTPS and the 100 B body, one gateway worker (`--workers 1`) against one nginx worker and Caddy at GOMAXPROCS=1:' +
    ' req/s from wrk, CPU per request from h2load --h1, HTTP/2 req/s from h2load (see above).', '');
  out.push(table(['Target', 'Value', 'Goal', 'Result'], r.targets.filter((t) => !t.informational).map((t) => [
    t.name,
    formatTarget(t),
    t.goal,
    t.met ? 'met' : '**missed**',
  ]), [1]), '');
  const info = r.targets.filter((t) => t.informational);
  if (info.length) {
    out.push('For information, not targets (the HTTP ratio targets are defined for the 100 B body only):', '');
    out.push(table(['Ratio', 'Value', 'Target at 100 B'], info.map((t) => [t.name, formatTarget(t), t.goal.replace(/^\((.*) for 100 B\)$/, '$1')]), [1]), '');
  }
  // The cuts tried and their before/after, kept by hand beside the measured report.
  out.push(readFileSync(COST_CUTS_FILE, 'utf8').trimEnd(), '');
  return out.join('\n');
}

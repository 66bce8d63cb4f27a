import { beforeAll, describe, expect, it } from 'vitest';
import { runBench } from './bench.ts';
import { BODIES } from './bodies.ts';
import { H2_PEER_LABELS, HTTP_PEER_LABELS, REDIS_PEERS, REDIS_TESTS, TCP_PEER_LABELS, WS_PEER_LABELS, type BenchResult } from './results.ts';

// Every bench case for one second, so that the bench cannot rot between real runs. It needs
// nginx (with libnginx-mod-stream), wrk, haproxy, redis-server/redis-benchmark, caddy and
// h2load: without them runBench throws (run .ci/run), and every test here fails rather than skips.
describe('bench (every case for 1 s)', () => {
  let ran: BenchResult & { report: string };
  let failure: unknown;

  beforeAll(async () => {
    try {
      ran = await runBench({ durationS: 1, warmupS: 0, write: false, log: () => {} });
    } catch (err) {
      failure = err;
    }
  }, 300_000);

  // A throwing beforeAll only marks the tests skipped: each test fails with the cause instead.
  const bench = () => {
    if (failure) throw failure;
    return ran;
  };

  it('runs each HTTP peer for both bodies, with requests, full bodies and no errors', () => {
    expect(bench().http.map((c) => `${c.peer} ${c.body}`).sort()).toEqual(
      Object.keys(HTTP_PEER_LABELS).flatMap((p) => Object.keys(BODIES).map((b) => `${p} ${b}`)).sort(),
    );
    for (const c of bench().http) {
      const name = `${c.peer} ${c.body}`;
      expect(c.wrk.requests, name).toBeGreaterThan(0);
      expect(c.wrk.errors, name).toBe(0);
      expect(c.wrk.bytesRead, name).toBeGreaterThanOrEqual(c.wrk.requests * BODIES[c.body].bytes * 0.99);
    }
  });

  it('measures the CPU per request of every proxy\'s own processes, all of them, over a capped h2load --h1 run', () => {
    // Capped in the smoke run: these runs must add seconds to it, not minutes.
    expect(bench().cpuRequests).toBeLessThanOrEqual(2_000);
    const measured = bench().http.filter((c) => c.cpu);
    expect(measured.map((c) => `${c.peer} ${c.body}`).sort()).toEqual(
      Object.keys(HTTP_PEER_LABELS).filter((p) => p !== 'direct').map((p) => `${p} small`).sort(),
    );
    for (const c of measured) {
      const cpu = c.cpu!;
      expect(cpu.load.protocol, c.peer).toBe('http/1.1');
      expect(cpu.load.requests, c.peer).toBe(bench().cpuRequests);
      expect(cpu.load.errors, c.peer).toBe(0);
      expect(cpu.usPerRequest, c.peer).toBeGreaterThan(0);
    }
    const processes = (peer: string) => measured.find((c) => c.peer === peer)!.cpu!.processes;
    expect(processes('nginx')).toBeGreaterThanOrEqual(2); // master and worker
    expect(processes('gateway-workers-2')).toBeGreaterThanOrEqual(3); // supervisor and two workers
    expect(bench().report).toContain('CPU/request');
  });

  it('runs HTTP/2 through the gateway, nginx and Caddy, each negotiating h2, with req/s and CPU per request', () => {
    expect(bench().h2.map((c) => c.peer)).toEqual(Object.keys(H2_PEER_LABELS));
    for (const c of bench().h2) {
      expect(c.h2.load.protocol, c.peer).toBe('h2');
      expect(c.h2.load.requests, c.peer).toBe(bench().cpuRequests);
      expect(c.h2.load.errors, c.peer).toBe(0);
      expect(c.h2.load.rps, c.peer).toBeGreaterThan(0);
      expect(c.h2.usPerRequest, c.peer).toBeGreaterThan(0);
    }
    expect(bench().h2.find((c) => c.peer === 'gateway')!.viaGateway).toBeGreaterThanOrEqual(bench().cpuRequests);
  });

  it('sends the gateway cases through the gateway (its own request counter agrees with wrk)', () => {
    const viaGateway = [...bench().http.filter((c) => c.peer.startsWith('gateway')), ...bench().routes];
    expect(viaGateway).toHaveLength(8);
    for (const c of viaGateway) {
      expect(c.viaGateway, JSON.stringify(c)).toBeGreaterThanOrEqual(c.wrk.requests);
    }
  });

  it('compares 1 and 10,000 routes with requests and no errors', () => {
    expect(bench().routes.map((c) => c.routes)).toEqual([1, 10_000]);
    for (const c of bench().routes) {
      expect(c.wrk.requests).toBeGreaterThan(0);
      expect(c.wrk.errors).toBe(0);
    }
  });

  it('measures route propagation (control route log → gateway live table) for 1,000 and 10,000 routes, with no errors', () => {
    expect(bench().propagation.map((c) => c.routes)).toEqual([1_000, 10_000]);
    for (const c of bench().propagation) {
      expect(c.add.count, String(c.routes)).toBeGreaterThan(0);
      expect(c.remove.count, String(c.routes)).toBe(c.add.count);
      expect(c.add.p99, String(c.routes)).toBeGreaterThan(0);
      expect(c.errors, String(c.routes)).toBe(0);
      // The snapshot, then one table per measured or warm-up change: every change went through LiveRoutes.
      expect(c.applied, String(c.routes)).toBeGreaterThanOrEqual(1 + 2 * c.add.count);
    }
  });

  it('measures route propagation end to end (agent endpoint POST → gateway process serves) for 1,000 and 10,000 routes, with no errors', () => {
    expect(bench().propagationE2e.map((c) => c.routes)).toEqual([1_000]);
    for (const c of bench().propagationE2e) {
      expect(c.live.count, String(c.routes)).toBeGreaterThan(0);
      expect(c.live.p99, String(c.routes)).toBeGreaterThan(0);
      expect(c.errors, String(c.routes)).toBe(0);
    }
  });

  it('launches the busybox and the Jupyter app through a real agent and Docker Engine, every launch active', () => {
    for (const l of [bench().launch, bench().jupyterLaunch]) {
      expect(l.samples).toBeGreaterThanOrEqual(3);
      expect(l.failures).toBe(0);
      expect(l.p50).toBeGreaterThan(0);
      expect(l.p95).toBeGreaterThanOrEqual(l.p50);
      expect(l.agentP50).toBeGreaterThan(0);
    }
    expect(bench().report).toContain('## App launch');
  });

  it('snapshots and restores a workspace through a real agent and control, the restore checked', () => {
    const s = bench().snapshot;
    expect(s.bytes).toBeGreaterThan(50 * 1024 ** 2);
    expect(s.files).toBeGreaterThan(100);
    expect(s.snapshot.mbPerS).toBeGreaterThan(0);
    expect(s.restore.mbPerS).toBeGreaterThan(0);
    expect(s.compressedBytes).toBeGreaterThan(0);
    expect(s.verified).toBe(true); // the clone holds the same files, links and bytes
    expect(bench().report).toContain('## Workspace snapshot and restore');
  });

  it('runs WebSocket round trips direct and through each proxy, the gateway one through the gateway', () => {
    expect(bench().ws.map((c) => c.peer)).toEqual(Object.keys(WS_PEER_LABELS));
    for (const c of bench().ws) {
      expect(c.ws.roundTrips, c.peer).toBeGreaterThan(0);
      expect(c.ws.errors, c.peer).toBe(0);
    }
    expect(bench().ws.find((c) => c.peer === 'gateway')!.viaGateway).toBe(1);
  });

  it('moves bulk TCP bytes to the sink through each peer with no errors, the gateway\'s through the gateway', () => {
    expect(bench().tcp.bulk.map((c) => c.peer)).toEqual(Object.keys(TCP_PEER_LABELS));
    for (const c of bench().tcp.bulk) {
      expect(c.bulk.bytes, c.peer).toBeGreaterThan(0);
      expect(c.bulk.errors, c.peer).toBe(0);
    }
    const gw = bench().tcp.bulk.find((c) => c.peer === 'gateway')!;
    expect(gw.viaGateway!.connections).toBe(gw.bulk.streams);
    expect(gw.viaGateway!.bytesIn).toBeGreaterThanOrEqual(gw.bulk.bytes);
  });

  it('opens, echoes and closes TCP connections through each peer with no errors, the gateway\'s through the gateway', () => {
    expect(bench().tcp.connect.map((c) => c.peer)).toEqual(Object.keys(TCP_PEER_LABELS));
    for (const c of bench().tcp.connect) {
      expect(c.connect.connections, c.peer).toBeGreaterThan(0);
      expect(c.connect.errors, c.peer).toBe(0);
      expect(c.connect.p99Ms, c.peer).toBeGreaterThan(0);
    }
    const gw = bench().tcp.connect.find((c) => c.peer === 'gateway')!;
    expect(gw.viaGateway!.connections).toBeGreaterThanOrEqual(gw.connect.connections);
    expect(gw.viaGateway!.bytesOut).toBeGreaterThanOrEqual(gw.connect.connections);
  });

  it('runs redis-benchmark SET and GET direct, through the gateway and nginx stream, every request reaching redis', () => {
    expect(bench().tcp.redis.map((c) => `${c.peer} ${c.test}`)).toEqual(REDIS_PEERS.flatMap((p) => REDIS_TESTS.map((t) => `${p} ${t}`)));
    for (const c of bench().tcp.redis) {
      const name = `${c.peer} ${c.test}`;
      expect(c.redis.rps, name).toBeGreaterThan(0);
      expect(c.redis.errors, `${name}: ${c.redis.errorLines.join('; ')}`).toBe(0);
      expect(c.commands, name).toBeGreaterThanOrEqual(c.redis.requests);
    }
    for (const c of bench().tcp.redis.filter((c) => c.peer === 'gateway')) {
      expect(c.viaGateway!.connections, c.test).toBeGreaterThanOrEqual(c.redis.clients);
      // Each request is a RESP command of at least 30 bytes (SET/GET, the key, the value).
      expect(c.viaGateway!.bytesIn, c.test).toBeGreaterThanOrEqual(c.redis.requests * 30);
    }
  });

  it('reports every target with a measured value, and every case in the report', () => {
    expect(bench().targets.filter((t) => !t.informational)).toHaveLength(18); // the smoke run has no 10,000-route propagation row
    // The 1 MiB ratios: shown, but the HTTP targets are for the 100 B body only.
    expect(bench().targets.filter((t) => t.informational).map((t) => t.name)).toEqual([
      'gateway / bare Node HTTPS (ceiling), 1 MiB', 'gateway / nginx, 1 MiB', 'gateway / Caddy, 1 MiB', 'gateway / configurable-http-proxy, 1 MiB',
    ]);
    for (const t of bench().targets) expect(Number.isFinite(t.value), t.name).toBe(true);
    for (const label of [...Object.values(HTTP_PEER_LABELS), ...Object.values(H2_PEER_LABELS), ...Object.values(WS_PEER_LABELS), ...Object.values(TCP_PEER_LABELS), '10,000', 'Route propagation']) {
      expect(bench().report).toContain(label);
    }
    expect(bench().report).toMatch(/configurable-http-proxy \d+\.\d+\.\d+/);
    expect(bench().report).toMatch(/HAProxy \d+\.\d+/);
    expect(bench().report).toMatch(/Caddy \d+\.\d+/);
    expect(bench().report).toMatch(/h2load nghttp2\/\d+\.\d+/);
    expect(bench().report).toMatch(/Redis \d+\.\d+/);
  });

  it('runs the several-controls cases: launches on each set-up, store operations, route changes between controls', () => {
    const ha = bench().ha;
    expect(ha.launch.map((l) => l.name)).toEqual(['1 control, SQLite', '1 control, PostgreSQL', '3 controls, PostgreSQL']);
    for (const l of ha.launch) {
      expect(l.failures, l.name).toBe(0);
      expect(l.samples, l.name).toBeGreaterThan(0);
      expect(l.p50, l.name).toBeGreaterThan(0);
    }
    expect(ha.ops.map((o) => o.store)).toEqual(['SQLite', 'PostgreSQL']);
    for (const o of ha.ops) {
      expect(o.leasesPerS, o.store).toBeGreaterThan(0);
      expect(o.routeChangesPerS, o.store).toBeGreaterThan(0);
    }
    expect(ha.crossControl.samples).toBeGreaterThan(0);
    expect(ha.crossControl.p99).toBeGreaterThanOrEqual(ha.crossControl.p50);
    // An agent's report to one control reaches a gateway fed by the other, every time.
    expect(ha.crossControlEndToEnd.live.count).toBeGreaterThan(0);
    expect(ha.crossControlEndToEnd.errors).toBe(0);
    expect(bench().report).toContain('## Several controls on PostgreSQL');
  });
});

import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from './prometheus.ts';
import { RouteStats } from './route-stats.ts';

describe('RouteStats', () => {
  it('summarises requests by status class, latency percentiles and bytes', () => {
    const s = new RouteStats('r1');
    for (let i = 1; i <= 100; i++) s.record(i <= 90 ? 200 : 502, i * 1000, 10, 100);
    const snap = s.snapshot();
    expect(snap.requests).toBe(100);
    expect(snap.statusClasses).toEqual({ '1xx': 0, '2xx': 90, '3xx': 0, '4xx': 0, '5xx': 10 });
    expect(snap.latencyMs.p50).toBeCloseTo(50, 0);
    expect(snap.latencyMs.p99).toBeCloseTo(99, 0);
    expect([snap.bytesIn, snap.bytesOut]).toEqual([1000, 10_000]);
    expect(snap.lastActivity).toBeGreaterThan(0);
  });

  it('is exposed with the metric names of DESIGN.md', async () => {
    const s = new RouteStats('r1');
    s.record(200, 700, 5, 50); // 0.7 ms
    s.record(404, 3_000_000, 0, 10); // 3 s
    const idle = new RouteStats('idle');
    const text = await createGatewayMetrics(() => [s, idle], () => 2).metrics();
    expect(text).toContain('wharf_gateway_requests_total{route="r1",code="200"} 1');
    expect(text).toContain('wharf_gateway_requests_total{route="r1",code="404"} 1');
    expect(text).toContain('wharf_gateway_request_duration_seconds_bucket{route="r1",le="0.0005"} 0');
    expect(text).toContain('wharf_gateway_request_duration_seconds_bucket{route="r1",le="0.001"} 1');
    expect(text).toContain('wharf_gateway_request_duration_seconds_bucket{route="r1",le="5"} 2');
    expect(text).toContain('wharf_gateway_request_duration_seconds_bucket{route="r1",le="+Inf"} 2');
    expect(text).toContain('wharf_gateway_request_duration_seconds_count{route="r1"} 2');
    expect(text).toContain('wharf_gateway_bytes_total{route="r1",direction="out"} 60');
    expect(text).toContain('wharf_gateway_open_connections{route="r1",kind="http"} 0');
    expect(text).not.toContain('kind="ws"'); // r1 never carried a WebSocket
    expect(text).not.toContain('route="idle"'); // a route with no traffic adds no series
    expect(text).toContain('wharf_gateway_routes 2');
    expect(text).toContain('wharf_gateway_process_cpu_user_seconds_total');
  });
});

describe('RouteStats.absorb', () => {
  it('adds up workers\' figures into what one process would report, and their growth into the next delta', () => {
    const a = new RouteStats('r');
    const b = new RouteStats('r');
    for (let i = 1; i <= 50; i++) a.record(200, i * 1000, 1, 10);
    for (let i = 51; i <= 100; i++) b.record(i <= 90 ? 200 : 502, i * 1000, 1, 10);
    b.open.http = 2;
    const one = new RouteStats('r');
    for (let i = 1; i <= 100; i++) one.record(i <= 90 ? 200 : 502, i * 1000, 1, 10);

    const total = new RouteStats('r');
    total.absorb([a.state(), b.state()]);
    const { lastActivity: _l1, latencyMs: merged, ...got } = total.snapshot();
    const { lastActivity: _l2, latencyMs: single, ...want } = one.snapshot();
    expect(got).toEqual({ ...want, open: { http: 2, ws: 0, tcp: 0 } });
    // Within the histogram's resolution (two significant digits).
    for (const p of ['p50', 'p95', 'p99', 'max'] as const) expect(Math.abs(merged[p] - single[p]) / single[p]).toBeLessThan(0.01);
    expect([...total.buckets]).toEqual([...one.buckets]);
    const first = total.takeDelta()!;
    expect(first.requests).toBe(100);

    // Only what grew since the previous absorb is in the next interval.
    a.record(404, 5_000, 0, 0);
    total.absorb([a.state(), b.state()]);
    const second = total.takeDelta()!;
    expect(second).toMatchObject({ requests: 1, codes: { 404: 1 } });
    expect(total.snapshot().requests).toBe(101);
  });
});

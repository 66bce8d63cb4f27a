import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayDelta } from '../../control/metrics/gateway-delta.ts';
import { RouteStats } from './route-stats.ts';
import { StatsPusher } from './stats-pusher.ts';

describe('RouteStats.takeDelta', () => {
  it('returns what happened since the last take, leaves the cumulative counts, and is undefined when idle', () => {
    const s = new RouteStats('r1');
    s.takeDelta(1_000);
    s.record(200, 1_000, 10, 100);
    s.record(502, 3_000, 5, 50);
    s.bytesIn += 7; // a pipe bumps bytes directly
    const d1 = s.takeDelta(6_000)!;
    expect(d1).toMatchObject({ route: 'r1', interval: { from: 1_000, to: 6_000 }, requests: 2, codes: { '200': 1, '502': 1 }, bytesIn: 22, bytesOut: 150 });
    const h1 = decodeFromCompressedBase64(d1.latency);
    expect(h1.totalCount).toBe(2);
    expect(h1.maxValue).toBeGreaterThanOrEqual(2_990);
    // Control takes it as it is.
    expect(() => parseGatewayDelta({ ...d1, instance: 'r1' })).not.toThrow();

    expect(s.takeDelta(11_000)).toBeUndefined();
    s.record(200, 500, 1, 1);
    const d2 = s.takeDelta(16_000)!;
    expect(d2).toMatchObject({ interval: { from: 11_000, to: 16_000 }, requests: 1, codes: { '200': 1 }, bytesIn: 1, bytesOut: 1 });
    expect(decodeFromCompressedBase64(d2.latency).totalCount).toBe(1);
    expect(() => parseGatewayDelta({ ...d2, instance: 'r1' })).not.toThrow();
    // Cumulative: all three requests.
    expect(s.snapshot()).toMatchObject({ requests: 3, bytesIn: 23, bytesOut: 151 });
  });
});

describe('StatsPusher (against a real local HTTP server)', () => {
  let server: Server | undefined;
  let pusher: StatsPusher | undefined;
  afterEach(async () => {
    await pusher?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  async function listen(handler: (req: IncomingMessage, body: string) => number) {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        res.statusCode = handler(req, body);
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('pushes the deltas of active, label-named routes with the gateway key, every interval', async () => {
    const got: { auth?: string; path?: string; deltas: unknown[] }[] = [];
    const url = await listen((req, body) => {
      got.push({ auth: req.headers.authorization, path: req.url, deltas: (JSON.parse(body) as { deltas: unknown[] }).deltas });
      return 200;
    });
    const a = new RouteStats('inst-a');
    const idle = new RouteStats('inst-idle');
    const fileRoute = new RouteStats('Not_A_Label');
    let now = 1_700_000_000_000;
    a.takeDelta(now);
    pusher = new StatsPusher({ control: url, key: 'gw-key', stats: () => [a, idle, fileRoute], intervalMs: 20, clock: () => now });
    a.record(200, 2_000, 1, 2);
    fileRoute.record(200, 2_000, 1, 2);
    now += 5_000;
    await pusher.tick();
    expect(got).toHaveLength(1);
    expect(got[0].auth).toBe('Bearer gw-key');
    expect(got[0].path).toBe('/api/v1/gateways/stats');
    expect(got[0].deltas).toHaveLength(1);
    const d = parseGatewayDelta(got[0].deltas[0]);
    expect(d).toMatchObject({ route: 'inst-a', instance: 'inst-a', requests: 1, interval: { to: now } });
    expect(pusher.pushed).toBe(1);

    // Nothing new: no request at all. Then the timer pushes by itself.
    await pusher.tick();
    expect(got).toHaveLength(1);
    pusher.start();
    a.record(404, 100, 0, 0);
    now += 5_000;
    const deadline = Date.now() + 3_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got[1].deltas).toEqual([expect.objectContaining({ route: 'inst-a', codes: { '404': 1 } })]);
  });

  it('drops and counts deltas when control refuses them or is away, without buffering', async () => {
    const url = await listen(() => 503);
    const a = new RouteStats('inst-a');
    const errors: string[] = [];
    pusher = new StatsPusher({ control: url, key: 'k', stats: () => [a], onError: (e) => errors.push(e.message) });
    a.record(200, 1_000, 0, 0);
    await pusher.tick();
    expect([pusher.pushed, pusher.dropped, pusher.failures]).toEqual([0, 1, 1]);
    expect(errors[0]).toMatch(/503/);

    // Control gone: the push fails fast, dropped, and the next interval starts clean.
    await new Promise((r) => server!.close(r));
    server = undefined;
    a.record(200, 1_000, 0, 0);
    await pusher.tick();
    expect([pusher.pushed, pusher.dropped, pusher.failures]).toEqual([0, 2, 2]);
    expect(a.takeDelta()).toBeUndefined();
    expect(a.snapshot().requests).toBe(2);
  });
});

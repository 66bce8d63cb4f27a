import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { sample } from '../support/prometheus-text.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// One measurement per request, per route: counts, durations, bytes and open connections.
describe('request metrics', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  let release: (() => void) | undefined;
  const metrics = async () => (await plainGet(gw.adminPort, '/metrics')).body;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      if (req.url === '/hold') {
        release = () => res.end('late');
        return true;
      }
      if (req.url === '/teapot') {
        res.writeHead(418, { 'content-length': '3' }).end('tea');
        return true;
      }
      // A fixed-size answer, so that the byte counts are known exactly.
      const reply = `echo:${body}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(reply) }).end(reply);
      return true;
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-metrics-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [{ id: 'r1', target: up.url, public: true }, { id: 'r2', target: up.url, public: true }],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('counts N requests as wharf_gateway_requests_total{route="r1",code="200"} N, with their bytes', async () => {
    const N = 12;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
    let bytesIn = 0;
    let bytesOut = 0;
    try {
      for (let i = 0; i < N; i++) {
        const body = i % 2 ? `payload-${i}-${'z'.repeat(i * 100)}` : undefined;
        const reply = await request(gw.httpsPort, { host: 'r1.apps.localhost', method: body ? 'POST' : 'GET', path: `/m/${i}`, body, ca: gw.ca, agent });
        expect(reply.status).toBe(200);
        bytesIn += body ? Buffer.byteLength(body) : 0;
        bytesOut += Buffer.byteLength(reply.body);
      }
      expect((await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/teapot', ca: gw.ca, agent })).status).toBe(418);
    } finally {
      agent.destroy();
    }
    bytesOut += 3;
    const text = await metrics();
    expect(sample(text, 'wharf_gateway_requests_total', { route: 'r1', code: '200' })).toBe(N);
    expect(sample(text, 'wharf_gateway_requests_total', { route: 'r1', code: '418' })).toBe(1);
    expect(sample(text, 'wharf_gateway_request_duration_seconds_count', { route: 'r1' })).toBe(N + 1);
    expect(sample(text, 'wharf_gateway_request_duration_seconds_bucket', { route: 'r1', le: '+Inf' })).toBe(N + 1);
    expect(sample(text, 'wharf_gateway_request_duration_seconds_sum', { route: 'r1' })).toBeGreaterThan(0);
    expect(sample(text, 'wharf_gateway_bytes_total', { route: 'r1', direction: 'in' })).toBe(bytesIn);
    expect(sample(text, 'wharf_gateway_bytes_total', { route: 'r1', direction: 'out' })).toBe(bytesOut);
    expect(sample(text, 'wharf_gateway_open_connections', { route: 'r1', kind: 'http' })).toBe(0);
    // Nothing was counted on the other route.
    expect(sample(text, 'wharf_gateway_requests_total', { route: 'r2', code: '200' })).toBeUndefined();
    expect(sample(text, 'wharf_gateway_routes')).toBe(2);
  });

  it('has cumulative histogram buckets', async () => {
    const text = await metrics();
    const buckets = [...text.matchAll(/^wharf_gateway_request_duration_seconds_bucket\{route="r1",le="([^"]+)"\} (\S+)$/gm)].map((m) => Number(m[2]));
    expect(buckets.length).toBeGreaterThan(2);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
  });

  it('reports the same counts in /stats', async () => {
    const stats = JSON.parse((await plainGet(gw.adminPort, '/stats')).body);
    const r1 = stats.routes.find((r: { route: string }) => r.route === 'r1');
    expect(r1.requests).toBe(13);
    expect(r1.statusClasses['2xx']).toBe(12);
    expect(r1.statusClasses['4xx']).toBe(1);
    expect(r1.open).toEqual({ http: 0, ws: 0, tcp: 0 });
  });

  it('counts a request in flight as an open http connection', async () => {
    const pending = request(gw.httpsPort, { host: 'r2.apps.localhost', path: '/hold', ca: gw.ca });
    const deadline = Date.now() + 5_000;
    while (!release && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const during = await metrics();
    expect(sample(during, 'wharf_gateway_open_connections', { route: 'r2', kind: 'http' })).toBe(1);
    release!();
    expect((await pending).status).toBe(200);
    const after = await metrics();
    expect(sample(after, 'wharf_gateway_open_connections', { route: 'r2', kind: 'http' })).toBe(0);
    expect(sample(after, 'wharf_gateway_requests_total', { route: 'r2', code: '200' })).toBe(1);
  });
});

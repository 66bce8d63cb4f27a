import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// 10,000 routes over two upstreams: even ids to one, odd to the other.
describe('host routing with 10,000 routes', () => {
  let gw: GatewayProcess;
  let even: Upstream;
  let odd: Upstream;

  beforeAll(async () => {
    even = await startUpstream();
    odd = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-routes-'));
    const routes = Array.from({ length: 10_000 }, (_, i) => ({ id: `r${i}`, target: i % 2 ? odd.url : even.url, public: true }));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await even?.close();
    await odd?.close();
  });

  it('sends each host to its own route, case-insensitively and with any port', async () => {
    for (const i of [0, 1, 4_999, 9_998, 9_999]) {
      const host = i === 4_999 ? `R${i}.Apps.LocalHost:${gw.httpsPort}` : `r${i}.apps.localhost`;
      const reply = await request(gw.httpsPort, { host, path: `/hello/${i}`, ca: gw.ca });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body).url).toBe(`/hello/${i}`);
      const upstream = i % 2 ? odd : even;
      expect(upstream.seen.at(-1)!.url).toBe(`/hello/${i}`);
    }
    expect(even.seen.length + odd.seen.length).toBe(5);
  });

  it('answers an unknown host, a nested label and the bare apps domain with 404 GW_ROUTE_NOT_FOUND', async () => {
    for (const host of ['r10000.apps.localhost', 'a.r1.apps.localhost', 'apps.localhost', 'r1.apps.localhost.evil.com']) {
      const reply = await request(gw.httpsPort, { host, servername: 'localhost', ca: gw.ca, headers: { accept: 'application/json' } });
      expect(reply.status, host).toBe(404);
      expect(reply.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
      expect(JSON.parse(reply.body).error.code).toBe('GW_ROUTE_NOT_FOUND');
    }
  });

  it('lists all routes on the admin port', async () => {
    const reply = await plainGet(gw.adminPort, '/routes');
    const body = JSON.parse(reply.body);
    expect(body.routes).toHaveLength(10_000);
    const health = JSON.parse((await plainGet(gw.adminPort, '/healthz')).body);
    expect(health).toEqual({ ok: true, routes: 10_000 });
  });
});

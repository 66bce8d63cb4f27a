import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouteStreamHandler, type RouteStreamHandler } from '../../control/routes/route-stream-handler.ts';
import { RouteLog } from '../../control/routes/route-log.ts';
import { parseRoute } from '../../protocol/route.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { until } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const KEY = 'wharfgw_test_0123456789';

// A real `wharf gateway` process fed over a real socket by control's route-stream handler.
describe('a gateway fed by the route stream', () => {
  let routes: RouteLog;
  let handler: RouteStreamHandler;
  let server: http.Server;
  let controlUrl: string;
  let upstream: Upstream;
  let gw: GatewayProcess;

  beforeAll(async () => {
    upstream = await startUpstream();
    routes = new RouteLog();
    routes.upsert(parseRoute({ id: 'r1', target: upstream.url, public: true }));
    handler = createRouteStreamHandler({ routes, authorize: (req) => req.headers.authorization === `Bearer ${KEY}`, pingIntervalMs: 500 });
    server = http.createServer((req, res) => void handler.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    controlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    gw = await startGateway({ env: { WHARF_GATEWAY_CONTROL: controlUrl, WHARF_GATEWAY_KEY: KEY } });
  });
  afterAll(async () => {
    await gw?.stop();
    handler?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await upstream?.close();
  });

  const status = async (host: string) => (await request(gw.httpsPort, { host, ca: gw.ca })).status;

  it('serves the routes of the snapshot', async () => {
    expect(await status('r1.apps.localhost')).toBe(200);
  });

  it('serves a route added later, and stops serving a removed one', async () => {
    routes.upsert(parseRoute({ id: 'r2', target: upstream.url, public: true }));
    await until('r2 served', async () => (await status('r2.apps.localhost')) === 200);
    routes.remove('r1');
    await until('r1 gone', async () => (await status('r1.apps.localhost')) === 404);
    expect(await status('r2.apps.localhost')).toBe(200);
  });

  it('refuses to start with a key control does not accept, saying what to fix', async () => {
    const wharf = new URL('../../bin/wharf.ts', import.meta.url).pathname;
    const err = await promisify(execFile)(process.execPath, [wharf, 'gateway', '--https-port', '0', '--admin-port', '0'], {
      env: { ...process.env, WHARF_HOME: gw.home, WHARF_GATEWAY_CONTROL: controlUrl, WHARF_GATEWAY_KEY: 'wrong' },
    }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain('WHARF_GATEWAY_KEY is not accepted by control');
  });
});

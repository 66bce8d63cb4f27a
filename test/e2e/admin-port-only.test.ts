import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { freePort } from '../support/tcp.ts';

const SECRET = 's3cret-value';
const ADMIN_PATHS = ['/metrics', '/routes', '/healthz', '/stats'];

// The admin port serves metrics, health and the route table; the public port never does, and
// the route headers (secrets) show up in none of them, nor in the logs.
describe('admin port', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/boom') {
        req.socket.destroy();
        return true;
      }
      return false;
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-admin-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: up.url, public: true, headers: { 'X-Secret': SECRET, Authorization: `Bearer ${SECRET}` } },
        { id: 'down', target: `http://127.0.0.1:${await freePort()}`, public: true, headers: { 'X-Secret': SECRET } },
      ],
    }));
    // Debug logs and the access log on: the most the gateway ever writes.
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--log-level', 'debug', '--access-log'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('listens on loopback', () => {
    const run = JSON.parse(readFileSync(join(gw.home, 'run', 'gateway.json'), 'utf8'));
    expect(run.admin).toBe(`127.0.0.1:${gw.adminPort}`);
  });

  it('answers /metrics, /routes, /healthz and /stats', async () => {
    const metrics = await plainGet(gw.adminPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# TYPE wharf_gateway_requests_total counter$/m);
    expect(metrics.body).toMatch(/^# TYPE wharf_gateway_request_duration_seconds histogram$/m);
    expect(metrics.body).toMatch(/^wharf_gateway_routes 2$/m);

    const routes = await plainGet(gw.adminPort, '/routes');
    expect(routes.status).toBe(200);
    const table = JSON.parse(routes.body);
    expect(table.routes.map((r: { id: string }) => r.id).sort()).toEqual(['down', 'r1']);
    const r1 = table.routes.find((r: { id: string }) => r.id === 'r1');
    expect(r1.target).toBe(up.url);
    expect(Object.keys(r1.headers).sort()).toEqual(['Authorization', 'X-Secret']);
    for (const v of Object.values(r1.headers)) expect(v).not.toContain('s3cret');

    expect(JSON.parse((await plainGet(gw.adminPort, '/healthz')).body)).toEqual({ ok: true, routes: 2 });
    const stats = await plainGet(gw.adminPort, '/stats');
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body).routes.map((r: { route: string }) => r.route).sort()).toEqual(['down', 'r1']);
  });

  it('answers 404 for the admin paths on the public port, whatever the Host', async () => {
    for (const host of ['localhost', '127.0.0.1', `localhost:${gw.httpsPort}`, 'nope.apps.localhost', 'apps.localhost', 'example.com']) {
      for (const path of ADMIN_PATHS) {
        const reply = await request(gw.httpsPort, { host, servername: 'localhost', path, ca: gw.ca, headers: { accept: 'application/json' } });
        expect(reply.status, `${host}${path}`).toBe(404);
        expect(reply.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
        expect(reply.body).not.toContain('wharf_gateway_');
        expect(reply.body).not.toContain('"routes"');
      }
    }
  });

  it('passes the admin paths on an app host to the app, never to the gateway\'s own handlers', async () => {
    for (const path of ADMIN_PATHS) {
      const before = up.seen.length;
      const reply = await request(gw.httpsPort, { host: 'r1.apps.localhost', path, ca: gw.ca });
      expect(reply.status).toBe(200);
      expect(reply.headers['x-upstream']).toBe('yes');
      expect(up.seen.length).toBe(before + 1);
      expect(up.seen.at(-1)!.url).toBe(path);
      expect(reply.body).not.toContain('wharf_gateway_');
    }
  });

  it('does not proxy apps on the admin port', async () => {
    const before = up.seen.length;
    const reply = await plainGet(gw.adminPort, '/anything', { host: 'r1.apps.localhost' });
    expect(reply.status).toBe(404);
    expect(up.seen.length).toBe(before);
  });

  it('shows no route header value in /routes, /metrics or /stats, even after traffic and errors', async () => {
    // Traffic of every kind first: success, upstream refused, upstream reset, unknown host, WebSocket.
    await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/ok', ca: gw.ca });
    await request(gw.httpsPort, { host: 'down.apps.localhost', path: '/x', ca: gw.ca });
    await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/boom', ca: gw.ca });
    await request(gw.httpsPort, { host: 'nope.apps.localhost', servername: 'localhost', ca: gw.ca });
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/ws`, { headers: { host: 'r1.apps.localhost' }, servername: 'r1.apps.localhost', ca: gw.ca } as WebSocket.ClientOptions);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send('hi');
    await new Promise((r) => ws.once('message', r));
    ws.terminate();
    const down = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/ws`, { headers: { host: 'down.apps.localhost' }, servername: 'down.apps.localhost', ca: gw.ca } as WebSocket.ClientOptions);
    await new Promise((r) => {
      down.once('unexpected-response', r);
      down.once('error', r);
    });
    down.terminate();
    // The app did get the secret: it is the point of route headers.
    expect(up.seen.at(-1)!.headers['x-secret']).toBe(SECRET);

    for (const path of ADMIN_PATHS) {
      const reply = await plainGet(gw.adminPort, path);
      expect(reply.body, path).not.toContain('s3cret');
    }
  });

  it('writes no route header value to its logs', async () => {
    await sleep(200); // let the last log lines arrive
    const out = gw.output();
    expect(out).toContain('access'); // the access log was on…
    expect(out).not.toContain('s3cret'); // …and still no secret
  });
});

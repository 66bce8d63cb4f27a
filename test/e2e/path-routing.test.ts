import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

function routesFile(up: Upstream): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-paths-'));
  writeFileSync(join(dir, 'routes.json'), JSON.stringify({
    routes: [
      { id: 'r1', target: up.url, public: true, headers: { 'X-Secret': 's3cret-value' } },
      { id: 'boot', target: up.url, public: true, status: 'starting' },
    ],
  }));
  return join(dir, 'routes.json');
}

// `/app/<id>/…` on the main host, for setups without wildcard DNS; off unless asked for.
describe('path routing on (--path-routing)', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({ args: ['--routes', routesFile(up), '--path-routing'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('sends /app/r1/x on the main host to r1 as /x, with X-Forwarded-Prefix', async () => {
    const host = `localhost:${gw.httpsPort}`;
    const reply = await request(gw.httpsPort, { host, path: '/app/r1/x/y?q=1', ca: gw.ca });
    expect(reply.status).toBe(200);
    const seen = up.seen.at(-1)!;
    expect(seen.url).toBe('/x/y?q=1');
    expect(seen.headers['x-forwarded-prefix']).toBe('/app/r1');
    expect(seen.headers.host).toBe(host);
    expect(seen.headers['x-forwarded-host']).toBe(host);
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-secret']).toBe('s3cret-value');
  });

  it('also works for 127.0.0.1 as the main host', async () => {
    const reply = await request(gw.httpsPort, { host: '127.0.0.1', servername: 'localhost', path: '/app/r1/', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/');
  });

  it('replaces an X-Forwarded-Prefix the client sent', async () => {
    await request(gw.httpsPort, { host: 'localhost', path: '/app/r1/p', ca: gw.ca, headers: { 'X-Forwarded-Prefix': '/evil' } });
    expect(up.seen.at(-1)!.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1].toLowerCase() === 'x-forwarded-prefix')).toEqual(['/app/r1']);
  });

  it('redirects /app/r1 to /app/r1/, keeping the query', async () => {
    const before = up.seen.length;
    const bare = await request(gw.httpsPort, { host: 'localhost', path: '/app/r1', ca: gw.ca });
    expect([301, 302, 303, 307, 308]).toContain(bare.status);
    expect(bare.headers.location).toBe('/app/r1/');
    const withQuery = await request(gw.httpsPort, { host: 'localhost', path: '/app/r1?a=b', ca: gw.ca });
    expect(withQuery.headers.location).toBe('/app/r1/?a=b');
    expect(up.seen.length).toBe(before);
  });

  it('answers 404 for an unknown id and 503 for a starting one', async () => {
    const before = up.seen.length;
    const unknown = await request(gw.httpsPort, { host: 'localhost', path: '/app/nope/x', ca: gw.ca, headers: { accept: 'application/json' } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
    expect((await request(gw.httpsPort, { host: 'localhost', path: '/app/nope', ca: gw.ca })).status).toBe(404);
    const starting = await request(gw.httpsPort, { host: 'localhost', path: '/app/boot/', ca: gw.ca });
    expect(starting.status).toBe(503);
    expect(starting.headers['retry-after']).toBeDefined();
    expect(up.seen.length).toBe(before);
  });

  it('does not route /app/… on an app host or an unknown host', async () => {
    // On the app's own host, /app/r1/x is just a path of that app.
    await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/app/r1/x', ca: gw.ca });
    expect(up.seen.at(-1)!.url).toBe('/app/r1/x');
    expect(up.seen.at(-1)!.headers['x-forwarded-prefix']).toBeUndefined();
    const other = await request(gw.httpsPort, { host: 'example.com', servername: 'localhost', path: '/app/r1/x', ca: gw.ca });
    expect(other.status).toBe(404);
  });

  it('proxies a WebSocket under the prefix', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/app/r1/socket`, { headers: { host: 'localhost' }, servername: 'localhost', ca: gw.ca } as WebSocket.ClientOptions);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(up.seen.at(-1)!.url).toBe('/socket');
      expect(up.seen.at(-1)!.headers['x-forwarded-prefix']).toBe('/app/r1');
      const echoed = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
      ws.send('under a prefix');
      expect(await echoed).toBe('under a prefix');
    } finally {
      ws.terminate();
    }
  });
});

describe('path routing off (the default)', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({ args: ['--routes', routesFile(up)] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('answers 404 for /app/r1/x on the main host and never calls the app', async () => {
    for (const path of ['/app/r1/x', '/app/r1/', '/app/r1']) {
      const reply = await request(gw.httpsPort, { host: 'localhost', path, ca: gw.ca, headers: { accept: 'application/json' } });
      expect(reply.status, path).toBe(404);
      expect(reply.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
    }
    expect(up.seen).toHaveLength(0);
  });

  it('refuses a WebSocket under /app/r1/ too', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/app/r1/socket`, { headers: { host: 'localhost' }, servername: 'localhost', ca: gw.ca } as WebSocket.ClientOptions);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(status).toBe(404);
    expect(up.seen).toHaveLength(0);
  });

  it('still routes by host', async () => {
    const reply = await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/x', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/x');
  });
});

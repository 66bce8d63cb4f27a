import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// --http-port: plain HTTP that only ever redirects to the same URL over HTTPS.
describe('plain-HTTP redirect (--http-port)', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-redirect-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: up.url, public: true }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--http-port', '0'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('listens on a plain-HTTP port of its own', () => {
    expect(gw.httpPort).toBeGreaterThan(0);
    expect(gw.httpPort).not.toBe(gw.httpsPort);
  });

  it('answers 308 to https://host:httpsPort/path, query included', async () => {
    const reply = await plainGet(gw.httpPort!, '/some/path?x=1&y=2', { host: 'r1.apps.localhost' });
    expect(reply.status).toBe(308);
    expect(reply.headers.location).toBe(`https://r1.apps.localhost:${gw.httpsPort}/some/path?x=1&y=2`);
    expect(up.seen).toHaveLength(0);
  });

  it('replaces the port of the Host header with the HTTPS port', async () => {
    const reply = await plainGet(gw.httpPort!, '/', { host: `localhost:${gw.httpPort}` });
    expect(reply.status).toBe(308);
    expect(reply.headers.location).toBe(`https://localhost:${gw.httpsPort}/`);
  });

  it('redirects other methods with 308 too, never passing them on', async () => {
    const reply = await new Promise<{ status: number; location: unknown }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.httpPort, method: 'POST', path: '/form', agent: false, headers: { host: 'r1.apps.localhost', 'content-type': 'text/plain' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location }));
      });
      req.on('error', reject);
      req.end('data');
    });
    expect(reply).toEqual({ status: 308, location: `https://r1.apps.localhost:${gw.httpsPort}/form` });
    expect(up.seen).toHaveLength(0);
  });

  it('refuses a Host that could inject into the Location', async () => {
    for (const host of ['evil.com/path', 'a b', 'r1.apps.localhost@evil.com']) {
      const reply = await plainGet(gw.httpPort!, '/', { host });
      expect(reply.status, host).toBe(400);
      expect(reply.headers.location).toBeUndefined();
    }
  });

  it('and the redirect target serves', async () => {
    const reply = await request(gw.httpsPort, { host: 'r1.apps.localhost', path: '/some/path?x=1&y=2', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/some/path?x=1&y=2');
  });
});

describe('without --http-port', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('opens no plain-HTTP port', () => {
    expect(gw.httpPort).toBeUndefined();
  });
});

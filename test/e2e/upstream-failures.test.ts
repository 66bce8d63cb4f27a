import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { freePort } from '../support/tcp.ts';

const SECRET = 's3cret-value';
const JSON_ACCEPT = { accept: 'application/json' };

/** An error answer: the status, the code in the header and in the JSON body, and no stack trace. */
function expectError(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.body).toBe(status);
  expect(reply.headers['x-wharf-error']).toBe(code);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(reply.body);
  expect(body.error.code).toBe(code);
  expect(reply.body).not.toMatch(/\bat .+:\d+:\d+|node:internal|Error: /);
}

// An app that is down, slow or cut off mid-answer: readable errors, and the gateway keeps serving.
describe('upstream failures', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  const app = (id: string) => `${id}.apps.localhost`;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      switch (req.url) {
        case '/reset':
          req.socket.destroy(); // before a single byte of the answer
          return true;
        case '/cut':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
          res.write('x'.repeat(100));
          setTimeout(() => req.socket.destroy(), 50);
          return true;
        case '/cut-chunked':
          res.writeHead(200, { 'content-type': 'text/plain' }); // no length: chunked
          res.write('y'.repeat(100));
          setTimeout(() => req.socket.destroy(), 50);
          return true;
        case '/slow':
          return true; // never answers
        default:
          return false;
      }
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-fail-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: up.url, public: true, headers: { 'X-Secret': SECRET } },
        { id: 'down', target: `http://127.0.0.1:${await freePort()}`, public: true, headers: { 'X-Secret': SECRET } },
        { id: 'boot', target: up.url, public: true, status: 'starting', headers: { 'X-Secret': SECRET } },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--upstream-timeout-ms', '500', '--log-level', 'debug', '--access-log'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  const ok = async () => {
    const reply = await request(gw.httpsPort, { host: app('r1'), path: '/fine', ca: gw.ca });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).url).toBe('/fine');
  };

  it('answers 502 GW_UPSTREAM_REFUSED when nothing listens at the target', async () => {
    expectError(await request(gw.httpsPort, { host: app('down'), ca: gw.ca, headers: JSON_ACCEPT }), 502, 'GW_UPSTREAM_REFUSED');
  });

  it('answers a readable HTML page to a browser', async () => {
    const reply = await request(gw.httpsPort, { host: app('down'), ca: gw.ca, headers: { accept: 'text/html,application/xhtml+xml,application/json;q=0.9' } });
    expect(reply.status).toBe(502);
    expect(reply.headers['x-wharf-error']).toBe('GW_UPSTREAM_REFUSED');
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(reply.body).toMatch(/<html/i);
    expect(reply.body).not.toMatch(/\bat .+:\d+:\d+|node:internal/);
  });

  it('answers 502 GW_UPSTREAM_RESET when the app closes the connection before answering', async () => {
    const before = up.seen.length;
    expectError(await request(gw.httpsPort, { host: app('r1'), path: '/reset', ca: gw.ca, headers: JSON_ACCEPT }), 502, 'GW_UPSTREAM_RESET');
    // A cut-off request is not silently sent again.
    expect(up.seen.length).toBe(before + 1);
    await ok();
  });

  /** GETs a path and reports how the response ended. */
  const fetchCut = (path: string) => new Promise<{ status: number; bytes: number; complete: boolean; error?: string }>((resolve) => {
    const req = https.get({ host: '127.0.0.1', port: gw.httpsPort, path, servername: app('r1'), ca: gw.ca, agent: false, headers: { host: app('r1') } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode!, bytes, complete: res.complete }));
      res.on('error', (err) => resolve({ status: res.statusCode!, bytes, complete: false, error: err.message }));
      res.on('aborted', () => resolve({ status: res.statusCode!, bytes, complete: false, error: 'aborted' }));
    });
    req.on('error', (err) => resolve({ status: 0, bytes: 0, complete: false, error: err.message }));
  });

  it('cuts the client\'s response short when the app dies mid-body (Content-Length)', async () => {
    const outcome = await fetchCut('/cut');
    // Never a clean, complete 1000-byte answer: the client must be able to tell it was cut.
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(1000);
    await ok();
  });

  it('cuts the client\'s response short when the app dies mid-body (chunked)', async () => {
    const outcome = await fetchCut('/cut-chunked');
    // A proxy that ended the chunked answer with its last chunk would pass a truncated body off as whole.
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThanOrEqual(100);
    await ok();
  });

  it('answers 504 GW_UPSTREAM_TIMEOUT when the app does not answer in --upstream-timeout-ms', async () => {
    const started = Date.now();
    expectError(await request(gw.httpsPort, { host: app('r1'), path: '/slow', ca: gw.ca, headers: JSON_ACCEPT }), 504, 'GW_UPSTREAM_TIMEOUT');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(5_000);
    await ok();
  });

  it('answers 503 with Retry-After while the app is starting, without calling it', async () => {
    const before = up.seen.length;
    const reply = await request(gw.httpsPort, { host: app('boot'), ca: gw.ca, headers: JSON_ACCEPT });
    expectError(reply, 503, 'GW_ROUTE_STARTING');
    expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
    const page = await request(gw.httpsPort, { host: app('boot'), ca: gw.ca, headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBeDefined();
    expect(page.body).toMatch(/<html/i);
    expect(up.seen.length).toBe(before);
  });

  it('keeps serving many requests after all of that, over a keep-alive client', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const reply = await request(gw.httpsPort, { host: app('r1'), path: `/after/${i}`, ca: gw.ca, agent });
        expect(reply.status).toBe(200);
      }
    } finally {
      agent.destroy();
    }
  });

  it('never logs a route header value, not even around failures', () => {
    const out = gw.output();
    expect(out).toContain('upstream'); // the failures were logged…
    expect(out).not.toContain(SECRET); // …without the secret
    expect(out).not.toContain('s3cret');
  });
});

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 's3cret-value';

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no echo')), 3_000);
    ws.once('message', (d) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    ws.send(text);
  });
}

// The routes file is reloaded on change: added routes serve, live connections on unchanged
// routes survive, removed routes close theirs, and a broken file changes nothing.
describe('routes file reload', () => {
  let gw: GatewayProcess;
  let up1: Upstream;
  let up2: Upstream;
  let dir: string;
  let file: string;
  let ws: WebSocket;
  let wsClosed = false;
  let wsCloseCode = 0;
  const r1 = () => ({ id: 'r1', target: up1.url, public: true, headers: { 'X-Secret': SECRET } });
  const r2 = () => ({ id: 'r2', target: up2.url, public: true });

  /** Replaces the routes file in one step (write + rename), as careful tools do. */
  function writeRoutes(content: string | object): void {
    const tmp = join(dir, `.routes.${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content));
    renameSync(tmp, file);
  }
  const get = (id: string, path = '/') => request(gw.httpsPort, { host: `${id}.apps.localhost`, path, ca: gw.ca, headers: { accept: 'application/json' } });
  const errorsLogged = () => gw.output().split('\n').filter((l) => l.includes('"level":50')).length;

  beforeAll(async () => {
    up1 = await startUpstream();
    up2 = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'wharf-reload-'));
    file = join(dir, 'routes.json');
    writeRoutes({ routes: [r1()] });
    gw = await startGateway({ args: ['--routes', file] });
  });
  afterAll(async () => {
    ws?.terminate();
    await gw?.stop();
    await up1?.close();
    await up2?.close();
  });

  it('serves r1 and holds a WebSocket open on it', async () => {
    expect((await get('r1')).status).toBe(200);
    expect((await get('r2')).status).toBe(404);
    ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/live`, { headers: { host: 'r1.apps.localhost' }, servername: 'r1.apps.localhost', ca: gw.ca } as WebSocket.ClientOptions);
    ws.on('close', (code) => {
      wsClosed = true;
      wsCloseCode = code;
    });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(await echo(ws, 'before')).toBe('before');
  });

  it('adds r2 without touching the WebSocket on r1', async () => {
    writeRoutes({ routes: [r1(), r2()] });
    await until('r2 serves', async () => (await get('r2')).status === 200);
    expect(up2.seen.length).toBeGreaterThan(0);
    expect(wsClosed).toBe(false);
    expect(await echo(ws, 'after adding r2')).toBe('after adding r2');
    expect((await get('r1')).status).toBe(200);
  });

  it('applies a changed r1 to new requests while its open WebSocket carries on', async () => {
    writeRoutes({ routes: [{ ...r1(), headers: { 'X-Secret': `${SECRET}-2` } }, r2()] });
    await until('r1 sends the new header', async () => {
      await get('r1', '/changed');
      return up1.seen.at(-1)!.headers['x-secret'] === `${SECRET}-2`;
    });
    expect(wsClosed).toBe(false);
    expect(await echo(ws, 'after changing r1')).toBe('after changing r1');
  });

  it('keeps serving the old routes when the file becomes invalid JSON, and logs an error', async () => {
    const before = errorsLogged();
    writeRoutes('{"routes": [ {"id": "r1", ');
    await until('the error is logged', () => errorsLogged() > before);
    expect(gw.output()).toMatch(/routes file/i);
    expect((await get('r1')).status).toBe(200);
    expect((await get('r2')).status).toBe(200);
    expect(wsClosed).toBe(false);
    expect(await echo(ws, 'after a broken file')).toBe('after a broken file');
    expect(JSON.parse((await plainGet(gw.adminPort, '/healthz')).body).routes).toBe(2);
    // The process is still alive.
    expect(gw.child.exitCode).toBeNull();
  });

  it('does not echo header values from a broken file into its logs', async () => {
    const before = errorsLogged();
    // A hand edit gone wrong next to a secret: single quotes are not JSON.
    writeRoutes(`{"routes": [{"id": "r1", "target": "${up1.url}", "public": true, "headers": {"X-Secret": '${SECRET}'}}]}`);
    await until('the error is logged', () => errorsLogged() > before);
    expect((await get('r1')).status).toBe(200);
    expect(gw.output()).not.toContain('s3cret');
  });

  it('skips bad routes and loads the others, reporting them on /routes without their header values', async () => {
    const mark = gw.output().length;
    writeRoutes({
      routes: [
        r1(),
        r2(),
        { id: 'bad', target: 'ftp://nowhere', public: true, headers: { 'X-Secret': SECRET } },
        { id: 'worse', target: up1.url, public: true, headers: { 'X-Secret': `${SECRET}\r\nX-Injected: 1` } },
      ],
    });
    await until('the bad routes are reported', async () => JSON.parse((await plainGet(gw.adminPort, '/routes')).body).errors?.length === 2);
    const routes = await plainGet(gw.adminPort, '/routes');
    const table = JSON.parse(routes.body);
    expect(table.routes.map((r: { id: string }) => r.id).sort()).toEqual(['r1', 'r2']);
    expect(JSON.stringify(table.errors)).toContain('routes[2]');
    expect(JSON.stringify(table.errors)).toContain('routes[3]');
    expect(routes.body).not.toContain('s3cret');
    expect(gw.output().slice(mark)).not.toContain('s3cret');
    expect((await get('r1')).status).toBe(200);
    expect((await get('r2')).status).toBe(200);
    expect(wsClosed).toBe(false);
    expect(await echo(ws, 'still')).toBe('still');
  });

  it('closes the WebSocket on r1 and answers 404 once r1 is removed', async () => {
    writeRoutes({ routes: [r2()] });
    await until('r1 is gone', async () => (await get('r1')).status === 404);
    const reply = await get('r1');
    expect(reply.headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
    await until('the WebSocket on r1 is closed', () => wsClosed);
    expect(wsCloseCode).not.toBe(0);
    expect((await get('r2')).status).toBe(200);
  });

  it('serves r1 again when it comes back', async () => {
    const mark = gw.output().length;
    writeRoutes({ routes: [r1(), r2()] });
    await until('r1 serves again', async () => (await get('r1')).status === 200);
    expect(up1.seen.at(-1)!.headers['x-secret']).toBe(SECRET);
    expect(gw.output().slice(mark)).not.toContain('s3cret');
  });
});

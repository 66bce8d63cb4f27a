import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { freePort } from '../support/tcp.ts';

function connect(gw: GatewayProcess, id: string, path = '/ws'): WebSocket {
  const host = `${id}.apps.localhost`;
  return new WebSocket(`wss://127.0.0.1:${gw.httpsPort}${path}`, { headers: { host }, servername: host, ca: gw.ca } as WebSocket.ClientOptions);
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, binary) => resolve({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), binary }));
    ws.once('close', () => reject(new Error('closed')));
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(-1);
    ws.once('close', (code) => resolve(code));
  });
}

async function openWs(gw: GatewayProcess, route: string): Promise<number> {
  const text = (await plainGet(gw.adminPort, '/metrics')).body;
  const m = text.match(new RegExp(`^wharf_gateway_open_connections\\{route="${route}",kind="ws"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('WebSocket proxying', () => {
  let gw: GatewayProcess;
  let up: Upstream;
  let up2: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    up2 = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-ws-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: up.url, public: true },
        { id: 'r2', target: up2.url, public: true },
        { id: 'dead', target: `http://127.0.0.1:${await freePort()}`, public: true },
        { id: 'boot', target: up.url, public: true, status: 'starting' },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
    await up2?.close();
  });

  it('echoes text and binary messages through the gateway', async () => {
    const ws = connect(gw, 'r1', '/echo?x=1');
    try {
      await opened(ws);
      expect(up.seen.at(-1)!.url).toBe('/echo?x=1');
      ws.send('hello over wss');
      const text = await nextMessage(ws);
      expect(text.binary).toBe(false);
      expect(text.data.toString()).toBe('hello over wss');

      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      ws.send(bytes);
      const bin = await nextMessage(ws);
      expect(bin.binary).toBe(true);
      expect(bin.data.equals(bytes)).toBe(true);
    } finally {
      ws.terminate();
    }
  });

  it('carries a 2 MB binary message and 200 small ones in order', async () => {
    const ws = connect(gw, 'r1');
    try {
      await opened(ws);
      const big = randomBytes(2 * 1024 * 1024);
      ws.send(big);
      const echoed = await nextMessage(ws);
      expect(echoed.data.equals(big)).toBe(true);

      const got: string[] = [];
      const all = new Promise<void>((resolve) => ws.on('message', (d) => {
        got.push(d.toString());
        if (got.length === 200) resolve();
      }));
      for (let i = 0; i < 200; i++) ws.send(`m${i}`);
      await all;
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    } finally {
      ws.terminate();
    }
  });

  it('counts an open WebSocket, and forgets it when the client closes', async () => {
    const ws = connect(gw, 'r1');
    await opened(ws);
    await until(async () => (await openWs(gw, 'r1')) === 1);
    ws.close();
    await closed(ws);
    await until(async () => (await openWs(gw, 'r1')) === 0);
  });

  it('closes the client side when the app goes away', async () => {
    const ws = connect(gw, 'r2');
    await opened(ws);
    ws.send('ping');
    expect((await nextMessage(ws)).data.toString()).toBe('ping');
    const gone = closed(ws);
    await up2.close();
    const code = await Promise.race([gone, sleep(5_000).then(() => 'still open' as const)]);
    expect(code).not.toBe('still open');
    await until(async () => (await openWs(gw, 'r2')) === 0);
  });

  it('answers a handshake to an app that refuses connections with 502 GW_UPSTREAM_REFUSED', async () => {
    const ws = connect(gw, 'dead');
    const res = await new Promise<{ status: number; code: unknown }>((resolve, reject) => {
      ws.once('unexpected-response', (_req, r) => resolve({ status: r.statusCode!, code: r.headers['x-wharf-error'] }));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(res).toEqual({ status: 502, code: 'GW_UPSTREAM_REFUSED' });
  });

  it('answers a handshake for an unknown host with 404 and for a starting app with 503', async () => {
    for (const [id, status, code] of [['nope', 404, 'GW_ROUTE_NOT_FOUND'], ['boot', 503, 'GW_ROUTE_STARTING']] as const) {
      const before = up.seen.length;
      const ws = connect(gw, id);
      const res = await new Promise<{ status: number; code: unknown }>((resolve, reject) => {
        ws.once('unexpected-response', (_req, r) => resolve({ status: r.statusCode!, code: r.headers['x-wharf-error'] }));
        ws.once('open', () => reject(new Error('opened')));
        ws.once('error', reject);
      });
      ws.terminate();
      expect(res).toEqual({ status, code });
      expect(up.seen.length).toBe(before);
    }
  });

  it('keeps serving new WebSockets afterwards', async () => {
    const ws = connect(gw, 'r1');
    try {
      await opened(ws);
      ws.send('still here');
      expect((await nextMessage(ws)).data.toString()).toBe('still here');
    } finally {
      ws.terminate();
    }
  });
});

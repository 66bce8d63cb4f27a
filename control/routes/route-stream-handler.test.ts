import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { parseRouteStreamLine, type RouteStreamMessage } from '../../protocol/route-stream.ts';
import { randomBytes } from 'node:crypto';
import { AppSessions } from '../keys/app-sessions.ts';
import { tempStore } from '../store/testing.ts';
import { RouteLog } from './route-log.ts';
import { createRouteStreamHandler, type RouteStreamHandler, type RouteStreamHandlerOptions } from './route-stream-handler.ts';

const KEY = 'wharfgw_test_secret';
const route = (id: string, port = 1): Route => parseRoute({ id, target: `http://127.0.0.1:${port}` });

const servers: Server[] = [];
const handlers: RouteStreamHandler[] = [];
afterEach(async () => {
  for (const h of handlers.splice(0)) h.close();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  })));
});

async function serve(options: Partial<RouteStreamHandlerOptions> & { routes: RouteLog }): Promise<{ port: number; handler: RouteStreamHandler }> {
  const handler = createRouteStreamHandler({ authorize: (req) => req.headers.authorization === `Bearer ${KEY}`, ...options });
  const server = createServer((req, res) => void handler.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  handlers.push(handler);
  return { port: (server.address() as AddressInfo).port, handler };
}

/** A client that collects the stream's messages as they come. */
function follow(port: number, path = '/api/v1/gateways/routes', key = KEY) {
  const messages: RouteStreamMessage[] = [];
  let res: IncomingMessage | undefined;
  let ended = false;
  const ready = new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${key}` } }, (r) => {
      res = r;
      let buffer = '';
      r.setEncoding('utf8');
      if (r.statusCode === 200) r.on('data', (text: string) => {
        buffer += text;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) !== -1) {
          messages.push(parseRouteStreamLine(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      });
      r.on('close', () => { ended = true; });
      resolve(r);
    });
    req.on('error', reject);
    req.end();
  });
  return {
    messages,
    ready,
    get ended() { return ended; },
    close: () => res?.destroy(),
    async body(): Promise<string> {
      const r = await ready;
      let text = '';
      for await (const chunk of r) text += chunk;
      return text;
    },
  };
}

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

describe('route stream handler', () => {
  it('carries app sessions: in the snapshot, as a sessions line after each revocation and before a resume\'s ping', async () => {
    const t = tempStore();
    try {
      const key = randomBytes(32);
      const sessions = new AppSessions(t.store, key);
      await sessions.load();
      const log = new RouteLog();
      log.upsert(route('a'));
      const { port } = await serve({ routes: log, sessions });
      const client = follow(port);
      await until('the snapshot arrives', () => client.messages.length === 1);
      expect(client.messages[0]).toMatchObject({ type: 'snapshot', sessions: { key: key.toString('base64url'), revoked: [] } });

      await sessions.revoke('u-1', 1_767_225_600_000);
      await until('the revocation arrives', () => client.messages.length === 2);
      expect(client.messages[1]).toEqual({ type: 'sessions', key: key.toString('base64url'), revoked: [{ user: 'u-1', instance: '*', before: 1_767_225_600_000 }] });

      const resumed = follow(port, `/api/v1/gateways/routes?since=${log.version}&epoch=${log.epoch}`);
      await until('the catch-up arrives', () => resumed.messages.length === 2);
      expect(resumed.messages.map((m) => m.type)).toEqual(['sessions', 'ping']);
      expect(resumed.messages[0]).toMatchObject({ revoked: [{ user: 'u-1' }] });
      client.close();
      resumed.close();
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a request without an accepted gateway key', async () => {
    const { port } = await serve({ routes: new RouteLog() });
    const client = follow(port, undefined, 'wrong');
    const res = await client.ready;
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-wharf-error']).toBe('CTL_GATEWAY_KEY');
    expect(JSON.parse(await client.body()).error.message).toContain('WHARF_GATEWAY_KEY');
  });

  it('refuses a since that is not a version', async () => {
    const { port } = await serve({ routes: new RouteLog() });
    const res = await follow(port, '/api/v1/gateways/routes?since=abc').ready;
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-wharf-error']).toBe('CTL_INVALID');
  });

  it('sends a snapshot, then every change as it happens, then pings', async () => {
    const log = new RouteLog();
    log.upsert(route('a'));
    const { port, handler } = await serve({ routes: log, pingIntervalMs: 20 });
    const client = follow(port);
    const res = await client.ready;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    await until('the snapshot arrives', () => client.messages.length === 1);
    expect(client.messages[0]).toMatchObject({ type: 'snapshot', version: 1, epoch: log.epoch, routes: [route('a')] });
    expect(handler.open).toBe(1);
    log.upsert(route('b'));
    log.remove('a');
    await until('both deltas arrive', () => client.messages.length >= 3);
    expect(client.messages.slice(1, 3)).toEqual([
      { type: 'delta', version: 2, upsert: [route('b')], remove: [], errors: [] },
      { type: 'delta', version: 3, upsert: [], remove: ['a'], errors: [] },
    ]);
    await until('pings arrive', () => client.messages.filter((m) => m.type === 'ping').length >= 2);
    expect(client.messages.filter((m) => m.type === 'ping').every((m) => m.version === 3)).toBe(true);
    client.close();
    await until('the stream is let go', () => handler.open === 0 && log.subscribers === 0);
  });

  it('resumes from since with only the missed deltas, then a ping at the current version', async () => {
    const log = new RouteLog();
    for (const id of ['a', 'b', 'c', 'd']) log.upsert(route(id));
    const { port } = await serve({ routes: log });
    const client = follow(port, `/api/v1/gateways/routes?since=2&epoch=${log.epoch}`);
    await until('the catch-up arrives', () => client.messages.length === 3);
    expect(client.messages.map((m) => [m.type, 'version' in m ? m.version : undefined])).toEqual([['delta', 3], ['delta', 4], ['ping', 4]]);
  });

  it('sends a snapshot when since is too old, of another epoch, or ahead of control', async () => {
    const log = new RouteLog({ capacity: 2 });
    for (const id of ['a', 'b', 'c', 'd']) log.upsert(route(id));
    const { port } = await serve({ routes: log });
    for (const query of [`since=1&epoch=${log.epoch}`, 'since=3&epoch=other', `since=9&epoch=${log.epoch}`]) {
      const client = follow(port, `/api/v1/gateways/routes?${query}`);
      await until('the snapshot arrives', () => client.messages.length === 1);
      expect(client.messages[0]).toMatchObject({ type: 'snapshot', version: 4 });
      client.close();
    }
  });

  it('lets a control behind a resuming gateway (its versions shared through the store) catch up first, then resumes it', async () => {
    const log = new RouteLog();
    for (const id of ['a', 'b']) log.upsert(route(id));
    // The store had two more changes that this control had not read yet.
    let caughtUp = 0;
    const catchUp = async () => {
      await sleep(50);
      for (const id of ['c', 'd']) log.upsert(route(id));
      caughtUp++;
    };
    const { port } = await serve({ routes: log, catchUp });
    const client = follow(port, `/api/v1/gateways/routes?since=3&epoch=${log.epoch}`);
    await until('the catch-up arrives', () => client.messages.length === 2);
    expect(client.messages.map((m) => [m.type, 'version' in m ? m.version : undefined])).toEqual([['delta', 4], ['ping', 4]]);
    // Not for a gateway of another history, nor one not ahead.
    for (const query of ['since=9&epoch=other', `since=4&epoch=${log.epoch}`]) {
      const other = follow(port, `/api/v1/gateways/routes?${query}`);
      await until('the first line arrives', () => other.messages.length >= 1);
      other.close();
    }
    expect(caughtUp).toBe(1);
  });

  it('disconnects a gateway that does not keep up, instead of buffering without limit', async () => {
    const log = new RouteLog({ capacity: 100_000, maxRoutes: 1_000_000 });
    const { port, handler } = await serve({ routes: log, maxBufferedBytes: 64 * 1024 });
    // A client that sends its request and then reads nothing.
    const socket = net.connect(port, '127.0.0.1');
    socket.write(`GET /api/v1/gateways/routes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n`);
    socket.pause();
    await until('the stream is open', () => handler.open === 1);
    const big = 'x'.repeat(1_000);
    for (let i = 0; i < 50_000 && handler.open === 1; i++) {
      log.upsert(parseRoute({ id: `r${i}`, target: 'http://127.0.0.1:1', headers: { 'X-Pad': big } }));
      if (i % 1_000 === 0) await sleep(1);
    }
    await until('the slow stream is closed', () => handler.open === 0);
    expect(log.subscribers).toBe(0);
    socket.destroy();
  });

  it('ends every stream on close and answers later requests 503', async () => {
    const log = new RouteLog();
    const { port, handler } = await serve({ routes: log });
    const client = follow(port);
    await until('the snapshot arrives', () => client.messages.length === 1);
    handler.close();
    await until('the stream ends', () => client.ended);
    const res = await follow(port).ready;
    expect(res.statusCode).toBe(503);
  });
});

describe('the public URL a gateway reports', () => {
  const open = (port: number, headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/gateways/routes', headers }, (res) => {
      res.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });

  it('is handed to onPublicUrl for an authorized stream request only', async () => {
    const reported: string[] = [];
    const { port } = await serve({ routes: new RouteLog(), onPublicUrl: (url) => reported.push(url) });
    expect(await open(port, { authorization: 'Bearer wrong', 'x-wharf-public-url': 'https://evil.test/' })).toBe(401);
    expect(await open(port, { authorization: `Bearer ${KEY}` })).toBe(200);
    expect(reported).toEqual([]);
    expect(await open(port, { authorization: `Bearer ${KEY}`, 'x-wharf-public-url': 'https://localhost:9443/' })).toBe(200);
    expect(reported).toEqual(['https://localhost:9443/']);
  });

  it('keeps streaming when onPublicUrl throws', async () => {
    const { port } = await serve({ routes: new RouteLog(), onPublicUrl: () => { throw new Error('boom'); } });
    expect(await open(port, { authorization: `Bearer ${KEY}`, 'x-wharf-public-url': 'https://localhost:9443/' })).toBe(200);
  });
});

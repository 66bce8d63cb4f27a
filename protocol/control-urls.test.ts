import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test/support/tcp.ts';
import { ControlUrls, neverReached, parseControlUrls } from './control-urls.ts';

describe('parseControlUrls', () => {
  it('reads one URL or several, and says which one is wrong', () => {
    expect(parseControlUrls('http://127.0.0.1:7400/')).toEqual(['http://127.0.0.1:7400']);
    expect(parseControlUrls(' https://c1.example:7443 , https://c2.example:7443/ ')).toEqual(['https://c1.example:7443', 'https://c2.example:7443']);
    expect(() => parseControlUrls('http://ok:1,nope')).toThrow(/got "nope"/);
    expect(() => parseControlUrls('ftp://x')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseControlUrls(' , ')).toThrow(/must be control's URL/);
  });
});

// Real sockets: a port nobody listens on, and a server that answers.
describe('ControlUrls', () => {
  let server: http.Server;
  let up: string;
  let down: string;
  let hits = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits += 1;
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end(req.url);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    up = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    down = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string) => async (url: string) => {
    const res = await fetch(`${url}${path}`);
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    return res.text();
  };

  it('moves past a control that cannot be reached, and stays with the one that answered', async () => {
    const urls = new ControlUrls([down, up]);
    expect(await urls.use(get('/a'))).toBe('/a');
    expect(urls.current).toBe(up);
    const before = hits;
    expect(await urls.use(get('/b'))).toBe('/b');
    expect(hits).toBe(before + 1);
  });

  it('does not send again a request that reached a control, even when it failed there', async () => {
    const urls = new ControlUrls([up, up]);
    const before = hits;
    await expect(urls.use(get('/fail'))).rejects.toMatchObject({ status: 500 });
    expect(hits).toBe(before + 1);
  });

  it('sends an idempotent request to the next control when the connection broke under it, and only such a request', async () => {
    // A control that dies as it reads the request: the socket is destroyed, no answer comes.
    const dying = http.createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
    const dies = `http://127.0.0.1:${(dying.address() as AddressInfo).port}`;
    try {
      const broken = await new ControlUrls([dies, up]).use(get('/report')).catch((e: unknown) => e);
      expect(neverReached(broken)).toBe(false);
      const before = hits;
      const urls = new ControlUrls([dies, up]);
      expect(await urls.use(get('/report'), { idempotent: true })).toBe('/report');
      expect(hits).toBe(before + 1);
      expect(urls.current).toBe(up);
    } finally {
      await new Promise<void>((resolve) => dying.close(() => resolve()));
    }
  });

  it('throws what the last one said when none can be reached', async () => {
    const urls = new ControlUrls([down, down]);
    const err = await urls.use(get('/x')).catch((e: unknown) => e);
    expect(neverReached(err)).toBe(true);
  });
});

import { createServer as createHttp } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeOnce, waitReady } from './readiness.ts';

// Real sockets. docker-proxy's behaviour before the app listens (accept, then close) is
// played by a server that closes every connection it accepts.
describe('readiness probes', () => {
  const servers: Server[] = [];
  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('http: any HTTP answer is ready, 404 included; accept-then-close is not', async () => {
    const http = await listen(createHttp((_, res) => res.writeHead(404).end()));
    const closer = await listen(createServer((s) => s.destroy()));
    expect(await probeOnce({ kind: 'http', port: 1, path: '/' }, '127.0.0.1', http)).toBe(true);
    expect(await probeOnce({ kind: 'http', port: 1, path: '/' }, '127.0.0.1', closer)).toBe(false);
  });

  it('tcp: a held or answered connection is ready; accept-then-close is not', async () => {
    const holder = await listen(createServer(() => undefined));
    const greeter = await listen(createServer((s) => s.write('+OK\r\n')));
    const closer = await listen(createServer((s) => s.end()));
    expect(await probeOnce({ kind: 'tcp', port: 1 }, '127.0.0.1', holder)).toBe(true);
    expect(await probeOnce({ kind: 'tcp', port: 1 }, '127.0.0.1', greeter)).toBe(true);
    expect(await probeOnce({ kind: 'tcp', port: 1 }, '127.0.0.1', closer)).toBe(false);
  });

  it('waits for an app that starts late, gives up at the timeout, and stops when the container is gone', async () => {
    const late = createHttp((_, res) => res.end('ok'));
    const port = await listen(createServer((s) => s.destroy()));
    await new Promise((r) => servers.pop()!.close(r));
    setTimeout(() => {
      servers.push(late);
      late.listen(port, '127.0.0.1');
    }, 300);
    expect(await waitReady({ kind: 'http', port: 1, path: '/' }, '127.0.0.1', port, 5_000, () => false)).toBe('ready');
    const closer = await listen(createServer((s) => s.destroy()));
    expect(await waitReady({ kind: 'tcp', port: 1 }, '127.0.0.1', closer, 400, () => false)).toBe('timeout');
    expect(await waitReady({ kind: 'tcp', port: 1 }, '127.0.0.1', closer, 5_000, () => true)).toBe('exited');
  });
});

describe('readiness probe requests', () => {
  it('http: sends the route headers, so an app that checks them answers 200 and logs no refusal', async () => {
    const seen: (string | undefined)[] = [];
    const app = createHttp((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization === 'token s3cret' ? 200 : 403).end();
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    try {
      const port = (app.address() as AddressInfo).port;
      expect(await waitReady({ kind: 'http', port: 1, path: '/api/status' }, '127.0.0.1', port, 5_000, () => false, undefined, { Authorization: 'token s3cret' })).toBe('ready');
      expect(seen).toEqual(['token s3cret']);
    } finally {
      await new Promise((r) => app.close(r));
    }
  });
});

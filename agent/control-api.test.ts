import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSpec } from '../control/store/testing.ts';
import { AgentControlApi, UnrunnableJob } from './control-api.ts';

// A real HTTP server standing in for a control of another version that answers a lease with a
// launch spec this agent cannot read.
describe('AgentControlApi.lease', () => {
  let server: Server;
  let api: AgentControlApi;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ instance: 'i-abcdefgh', queue: 'default', attempts: 1, spec: { app: 'container', image: 'x', argv: 'not a list' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = new AgentControlApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k', 's');
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses a malformed launch spec as an unrunnable job of that instance, naming the field', async () => {
    const err = await api.lease(0).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnrunnableJob);
    expect((err as UnrunnableJob).instance).toBe('i-abcdefgh');
    expect((err as Error).message).toMatch(/^this agent cannot run the launch spec: spec\./);
  });
});

// A real HTTP server recording what the agent sends after a lease.
describe('AgentControlApi reports', () => {
  let server: Server;
  let api: AgentControlApi;
  const seen: { url: string; epoch: string | undefined }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url!, epoch: req.headers['x-wharf-lease-epoch'] as string | undefined });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url!.includes('lease') ? JSON.stringify({ instance: 'i-abcdefgh', queue: 'default', attempts: 3, spec: testSpec() }) : '{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = new AgentControlApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k', 's');
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('carry the fencing epoch of the instance\'s lease, until the instance is forgotten', async () => {
    expect((await api.lease(0))?.attempts).toBe(3);
    await api.status('i-abcdefgh', 'active');
    await api.endpoint('i-abcdefgh', '127.0.0.1', 1234, 8080);
    await api.status('i-other123', 'stopped');
    api.forget('i-abcdefgh');
    await api.status('i-abcdefgh', 'stopped');
    expect(seen.slice(1)).toEqual([
      { url: '/api/v1/agent/instances/i-abcdefgh/status', epoch: '3' },
      { url: '/api/v1/agent/instances/i-abcdefgh/endpoint', epoch: '3' },
      { url: '/api/v1/agent/instances/i-other123/status', epoch: undefined },
      { url: '/api/v1/agent/instances/i-abcdefgh/status', epoch: undefined },
    ]);
  });
});

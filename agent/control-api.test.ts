import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HOST = 'r1.apps.localhost';

// Upstream HTTP goes through a keep-alive pool: sequential requests do not open a connection each.
describe('upstream keep-alive', () => {
  let gw: GatewayProcess;
  let up: Upstream;

  beforeAll(async () => {
    up = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-reuse-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: up.url, public: true }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('sends 20 sequential requests of one keep-alive client over one upstream connection', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const clientPorts = new Set<number>();
    agent.on('free', (socket) => clientPorts.add(socket.localPort!));
    try {
      for (let i = 0; i < 20; i++) {
        const reply = await request(gw.httpsPort, { host: HOST, path: `/n/${i}`, ca: gw.ca, agent });
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.body).url).toBe(`/n/${i}`);
      }
    } finally {
      agent.destroy();
    }
    expect(clientPorts.size).toBe(1); // the client kept its one connection too
    expect(up.seen).toHaveLength(20);
    expect(up.connections).toHaveLength(1);
    expect(new Set(up.seen.map((s) => s.remotePort))).toEqual(new Set(up.connections));
  });

  it('reuses the pooled connection for requests from new client connections as well', async () => {
    const before = up.connections.length;
    for (let i = 0; i < 5; i++) {
      const reply = await request(gw.httpsPort, { host: HOST, path: `/fresh/${i}`, ca: gw.ca, agent: false });
      expect(reply.status).toBe(200);
    }
    expect(up.connections.length).toBe(before);
  });

  it('keeps using the pool after POST bodies', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const before = up.connections.length;
    try {
      for (let i = 0; i < 5; i++) {
        const reply = await request(gw.httpsPort, { host: HOST, method: 'POST', path: '/post', body: `payload ${i}`, ca: gw.ca, agent });
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.body).body).toBe(`payload ${i}`);
      }
    } finally {
      agent.destroy();
    }
    expect(up.connections.length).toBe(before);
  });
});

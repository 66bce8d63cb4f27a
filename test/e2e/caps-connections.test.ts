import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

function open(port: number): Promise<tls.TLSSocket | 'refused'> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', () => resolve('refused'));
    socket.once('close', () => resolve('refused'));
  });
}

describe('connection caps', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGateway({ args: ['--max-connections-per-ip', '3'] });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses a client address past its cap, and accepts it again once a connection closes', async () => {
    const held = await Promise.all([open(gw.httpsPort), open(gw.httpsPort), open(gw.httpsPort)]);
    expect(held.every((s) => s !== 'refused')).toBe(true);
    expect(await open(gw.httpsPort)).toBe('refused');
    (held[0] as tls.TLSSocket).destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await open(gw.httpsPort);
    expect(again).not.toBe('refused');
    for (const s of [...held, again]) if (s !== 'refused') s.destroy();
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { createSigner, jwks, type Signer } from '../support/tokens.ts';
import { connectTcp, drain, spawnCollect, startTcpUpstream, until, WHARF, writeRoutes, type Running, type TcpUpstream } from '../support/tcp.ts';

// Issue 15: `echo hi | nc 127.0.0.1 PORT` through `wharf connect` printed nothing, while the
// app's direct port answered: the client's FIN closed the whole WebSocket, and the reply was
// cut off. A half-close now travels through the tunnel both ways. Real `wharf connect` and
// gateway processes, real sockets on both ends.

const LISTENING = /^wharf connect: 127\.0\.0\.1:(\d+) → /m;

describe('wharf connect carries half-closes both ways', () => {
  let gw: GatewayProcess;
  let signer: Signer;
  let replyUp: TcpUpstream;
  let greetUp: TcpUpstream;
  /** What the greeting upstream read after it had ended its own side, one entry per connection. */
  const greetRead: string[] = [];
  const procs: Running[] = [];
  const sockets: net.Socket[] = [];

  async function connect(route: string): Promise<{ proc: Running; port: number }> {
    const env: NodeJS.ProcessEnv = { ...process.env, WHARF_HOME: gw.home };
    delete env.WHARF_TOKEN;
    delete env.WHARF_URL;
    delete env.WHARF_GATEWAY_URL;
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', route, '--port', '0', '--token', await signer.sign({ scope: [route] })], env);
    procs.push(proc);
    await until('wharf connect listens', () => LISTENING.test(proc.stdout()) || proc.child.exitCode !== null, 10_000);
    const m = LISTENING.exec(proc.stdout());
    if (!m) throw new Error(`wharf connect did not start:\n${proc.stderr()}`);
    return { proc, port: Number(m[1]) };
  }

  beforeAll(async () => {
    // Reads until the client's end, then answers what it got and ends (`sh -c 'cat; echo done'` in kind).
    replyUp = await startTcpUpstream((socket) => {
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString()));
      socket.on('end', () => socket.end(`got ${JSON.stringify(got)}; done\n`));
    });
    // Greets and ends its own side at once, then keeps reading until the client's end.
    greetUp = await startTcpUpstream((socket) => {
      let got = '';
      socket.end('hello\n');
      socket.on('data', (c: Buffer) => (got += c.toString()));
      socket.on('end', () => greetRead.push(got));
    });
    signer = await createSigner('half-close-key');
    const dir = mkdtempSync(join(tmpdir(), 'wharf-half-close-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    const routes = join(dir, 'routes.json');
    writeRoutes(routes, [
      { id: 'reply', kind: 'tcp', target: replyUp.target },
      { id: 'greet', kind: 'tcp', target: greetUp.target },
    ]);
    gw = await startGateway({ args: ['--routes', routes, '--jwks', join(dir, 'jwks.json')] });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(procs.map((p) => p.stop()));
    await gw?.stop();
    await Promise.all([replyUp, greetUp].map((u) => u?.close()));
  });

  it('delivers the reply of an app that answers after the client ended its side (echo hi | nc)', async () => {
    const { proc, port } = await connect('reply');
    for (const text of ['hi\n', 'a second connection\n']) {
      const client = await connectTcp(port, { allowHalfOpen: true });
      sockets.push(client);
      const received = drain(client);
      client.end(text);
      const { data, error } = await received;
      expect(error).toBeUndefined();
      expect(data.toString()).toBe(`got ${JSON.stringify(text)}; done\n`);
    }
    expect(proc.stderr()).toBe('');
  });

  it('lets the client keep sending after the app ended its side, and the app reads it all', async () => {
    const { proc, port } = await connect('greet');
    const before = greetRead.length;
    const client = await connectTcp(port, { allowHalfOpen: true });
    sockets.push(client);
    const closed = drain(client);
    let greeting = '';
    client.on('data', (c: Buffer) => (greeting += c.toString()));
    // The app's end arrives as an end here, not as a close: the client can still write.
    await new Promise((resolve) => client.once('end', resolve));
    expect(greeting).toBe('hello\n');
    expect(client.writable).toBe(true);
    client.write('written after the app had ended, ');
    client.end('then the end\n');
    await until('the app sees the client\'s end', () => greetRead.length > before);
    expect(greetRead[before]).toBe('written after the app had ended, then the end\n');
    expect((await closed).error).toBeUndefined();
    expect(proc.stderr()).toBe('');
  });

  it('carries a large upload sent after the app ended its side, whole', async () => {
    const { proc, port } = await connect('greet');
    const before = greetRead.length;
    const client = await connectTcp(port, { allowHalfOpen: true });
    sockets.push(client);
    const closed = drain(client);
    await new Promise((resolve) => client.once('end', resolve));
    // More than the tunnel holds at once: the client's socket closes while some is still on its way.
    client.end(Buffer.alloc(4 << 20, 'x'));
    await until('the app sees the client\'s end', () => greetRead.length > before, 20_000);
    expect(greetRead[before].length).toBe(4 << 20);
    expect((await closed).error).toBeUndefined();
    expect(proc.stderr()).toBe('');
  });

  it('speaks the old format to a client that does not ask for half-close: the app\'s end closes the WebSocket', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/_wharf/tunnel/greet`, {
      headers: { host: 'localhost', authorization: `Bearer ${await signer.sign({ scope: ['greet'] })}` }, servername: 'localhost', ca: gw.ca,
    } as WebSocket.ClientOptions);
    const messages: Buffer[] = [];
    ws.on('message', (data: Buffer) => messages.push(data));
    const answered = new Promise<Record<string, string | string[] | undefined>>((resolve) => ws.once('upgrade', (res) => resolve(res.headers)));
    const code = await new Promise<number>((resolve, reject) => {
      ws.once('close', (c: number) => resolve(c));
      ws.once('error', reject);
    });
    expect((await answered)['x-wharf-tunnel']).toBeUndefined();
    expect([1000, 1005]).toContain(code); // a close, not an abort (ws.close() with no code is 1005)
    expect(Buffer.concat(messages).toString()).toBe('hello\n');
    expect(messages.some((m) => m.length === 0)).toBe(false);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import {
  adminRoutes, connectTcp, drain, echo, freePort, metric, randomPortBase, startTcpUpstream, until, writeRoutes, type TcpUpstream,
} from '../support/tcp.ts';

// Issue "Raw TCP apps through the gateway": a `kind: tcp, tls: none` route listens on its own
// port (or one from --tcp-ports) and pipes each connection to its upstream with backpressure,
// half-close honoured; the allowlist refuses at accept; every byte is counted in /metrics.

const GiB = 1 << 30;
const BLOCK = 1 << 20;

describe('raw TCP routes', () => {
  const base = randomPortBase();
  const range: [number, number] = [base + 10, base + 19];
  const ports = { echo: base, bulk: base + 1, half: base + 2, down: base + 3, deny: base + 4 };
  let gw: GatewayProcess;
  let echoUp: TcpUpstream;
  let denyUp: TcpUpstream;
  let bulkUp: TcpUpstream;
  let halfUp: TcpUpstream;
  /** What the half-close upstream received on each connection, pushed when the client ended. */
  const halfReceived: string[] = [];
  const nextHalfReceived = async (before: number): Promise<string> => {
    await until('the upstream sees the client\'s end', () => halfReceived.length > before);
    return halfReceived[before];
  };
  const open: net.Socket[] = [];
  const tcp = async (port: number, o?: { allowHalfOpen?: boolean }) => {
    const s = await connectTcp(port, o);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    echoUp = await startTcpUpstream();
    denyUp = await startTcpUpstream();
    // Hashes everything it receives; on the client's end, answers `<bytes> <sha256 hex>\n`.
    bulkUp = await startTcpUpstream((socket) => {
      const hash = createHash('sha256');
      let n = 0;
      socket.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      socket.on('end', () => socket.end(`${n} ${hash.digest('hex')}\n`));
    });
    // Mode by first byte. "A": waits for the client's end, then (later) answers with a header
    // and 300 KiB. "B": says "bye" and ends its own side at once, but keeps reading.
    halfUp = await startTcpUpstream((socket) => {
      let text = '';
      let mode = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (!mode) {
          mode = text[0];
          if (mode === 'B') socket.end('bye');
        }
      });
      socket.on('end', () => {
        halfReceived.push(text);
        if (mode === 'A') setTimeout(() => socket.end(Buffer.concat([Buffer.from(`got:${text.length}\n`), Buffer.alloc(300 * 1024, 0x61)])), 150);
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-tcp-raw-'));
    const file = join(dir, 'routes.json');
    writeRoutes(file, [
      { id: 'echo', kind: 'tcp', target: echoUp.target, port: ports.echo },
      { id: 'auto', kind: 'tcp', target: echoUp.target },
      { id: 'bulk', kind: 'tcp', target: bulkUp.target, port: ports.bulk, tls: 'none' },
      { id: 'half', kind: 'tcp', target: halfUp.target, port: ports.half },
      { id: 'down', kind: 'tcp', target: `tcp://127.0.0.1:${await freePort()}`, port: ports.down },
      { id: 'deny', kind: 'tcp', target: denyUp.target, port: ports.deny, allow: ['10.0.0.0/8'] },
    ]);
    gw = await startGateway({ args: ['--routes', file, '--tcp-ports', `${range[0]}-${range[1]}`] });
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await gw?.stop();
    await Promise.all([echoUp, denyUp, bulkUp, halfUp].map((u) => u?.close()));
  });

  it('lists each raw route on /routes with the port it listens on', async () => {
    const { routes } = await adminRoutes(gw.adminPort);
    const byId = new Map(routes.map((r) => [r.id as string, r]));
    expect(byId.get('echo')).toMatchObject({ kind: 'tcp', tls: 'none', port: ports.echo });
    expect(byId.get('bulk')).toMatchObject({ port: ports.bulk });
    expect(byId.get('deny')).toMatchObject({ port: ports.deny, allow: ['10.0.0.0/8'] });
    // A route without a port gets a free one from --tcp-ports.
    const auto = byId.get('auto')!.port as number;
    expect(auto).toBeGreaterThanOrEqual(range[0]);
    expect(auto).toBeLessThanOrEqual(range[1]);
    for (const id of ['echo', 'auto', 'bulk']) expect(byId.get(id)!.state, id).toBe('active');
  });

  it('echoes bytes through the route, on its own port and on one from the range', async () => {
    const a = await tcp(ports.echo);
    expect((await echo(a, 'hello, wharf\n')).toString()).toBe('hello, wharf\n');
    const big = randomBytes(512 * 1024);
    expect((await echo(a, big)).equals(big)).toBe(true);
    const auto = (await adminRoutes(gw.adminPort)).routes.find((r) => r.id === 'auto')!.port as number;
    const b = await tcp(auto);
    expect((await echo(b, 'via the range')).toString()).toBe('via the range');
    a.end();
    b.end();
    await Promise.all([drain(a), drain(b)]);
  });

  it('keeps concurrent connections apart and counts them in /metrics', async () => {
    const before = (await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'echo' })) ?? 0;
    const sockets = await Promise.all(Array.from({ length: 5 }, () => tcp(ports.echo)));
    const payloads = sockets.map(() => randomBytes(64 * 1024));
    const echoed = await Promise.all(sockets.map((s, i) => echo(s, payloads[i])));
    echoed.forEach((e, i) => expect(e.equals(payloads[i]), `connection ${i}`).toBe(true));
    await until('five are open', async () => (await metric(gw.adminPort, 'wharf_gateway_open_connections', { route: 'echo', kind: 'tcp' })) === 5, 2_000);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'echo' })).toBe(before + 5);
    const last = await metric(gw.adminPort, 'wharf_gateway_last_activity_seconds', { route: 'echo' });
    expect(last).toBeGreaterThan(Date.now() / 1000 - 10);
    expect(last).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    for (const s of sockets) s.end();
    await Promise.all(sockets.map((s) => drain(s)));
    await until('none is open', async () => (await metric(gw.adminPort, 'wharf_gateway_open_connections', { route: 'echo', kind: 'tcp' })) === 0, 2_000);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connection_duration_seconds_count', { route: 'echo' })).toBeGreaterThanOrEqual(before + 5);
  });

  it('carries 1 GiB intact (sha256 at both ends) and counts it in wharf_gateway_bytes_total', async () => {
    const started = Date.now();
    const socket = await tcp(ports.bulk);
    const reply = drain(socket, 60_000);
    const seed = randomBytes(BLOCK);
    const hash = createHash('sha256');
    for (let i = 0; i < GiB / BLOCK; i++) {
      // Every block differs (a counter in front), so a dropped or repeated block changes the hash.
      const block = Buffer.allocUnsafe(BLOCK);
      seed.copy(block);
      block.writeUInt32BE(i, 0);
      hash.update(block);
      if (!socket.write(block)) await once(socket, 'drain');
    }
    socket.end();
    const { data, error } = await reply;
    expect(error).toBeUndefined();
    expect(data.toString()).toBe(`${GiB} ${hash.digest('hex')}\n`);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds, 'the 1 GiB transfer took too long').toBeLessThan(20);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'bulk', direction: 'in' })).toBeGreaterThanOrEqual(GiB);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'bulk', direction: 'out' })).toBeGreaterThanOrEqual(data.length);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'bulk' })).toBe(1);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connection_duration_seconds_count', { route: 'bulk' })).toBe(1);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connection_duration_seconds_sum', { route: 'bulk' })).toBeGreaterThan(0);
  }, 45_000);

  it('honours half-close from the client: the upstream still answers after the client has ended its side', async () => {
    const before = halfReceived.length;
    const socket = await tcp(ports.half);
    const reply = drain(socket);
    socket.end('A request, then FIN');
    expect(await nextHalfReceived(before)).toBe('A request, then FIN');
    const { data, error } = await reply;
    expect(error).toBeUndefined();
    const header = 'got:19\n';
    expect(data.subarray(0, header.length).toString()).toBe(header);
    expect(data.length).toBe(header.length + 300 * 1024);
    expect(data.subarray(header.length).every((b) => b === 0x61)).toBe(true);
  });

  it('honours half-close from the upstream: the client can still send after the upstream has ended its side', async () => {
    const before = halfReceived.length;
    const socket = await tcp(ports.half, { allowHalfOpen: true });
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    socket.write('B');
    await once(socket, 'end');
    expect(Buffer.concat(got).toString()).toBe('bye');
    const closed = drain(socket);
    socket.end(' and more after the upstream ended');
    expect(await nextHalfReceived(before)).toBe('B and more after the upstream ended');
    expect((await closed).error).toBeUndefined();
  });

  it('closes the client connection when the upstream refuses, and counts a connect error', async () => {
    const errorsBefore = (await metric(gw.adminPort, 'wharf_gateway_tcp_connect_errors_total', { route: 'down' })) ?? 0;
    const socket = await tcp(ports.down);
    socket.write('anyone there?');
    const { data } = await drain(socket);
    expect(data.length).toBe(0);
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connect_errors_total', { route: 'down' })).toBe(errorsBefore + 1);
    await sleep(50);
    expect(await metric(gw.adminPort, 'wharf_gateway_open_connections', { route: 'down', kind: 'tcp' })).toBe(0);
    // The gateway is still serving.
    const ok = await tcp(ports.echo);
    expect((await echo(ok, 'still up')).toString()).toBe('still up');
    ok.end();
  });

  it('refuses a client outside the allowlist at accept: nothing reaches the upstream', async () => {
    const socket = await tcp(ports.deny);
    socket.on('error', () => {});
    socket.write('should never arrive');
    const { data } = await drain(socket);
    expect(data.length).toBe(0);
    await sleep(200);
    expect(denyUp.connections).toBe(0);
    expect(denyUp.received).toBe(0);
    expect((await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'deny', direction: 'in' })) ?? 0).toBe(0);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { connectTcp, drain, echo, metric, randomPortBase, startTcpUpstream, until, writeRoutes, type TcpUpstream } from '../support/tcp.ts';

// Issue "Raw TCP apps through the gateway", limits: --tcp-max-connections,
// --tcp-max-connections-per-route, --tcp-idle-timeout-ms (0 = off) and the upstream connect
// timeout --upstream-connect-timeout-ms.

describe('TCP connection limits', () => {
  const base = randomPortBase();
  const ports = { a: base, b: base + 1, quiet: base + 2, stuck: base + 3 };
  let caps: GatewayProcess;
  let timers: GatewayProcess;
  let upA: TcpUpstream;
  let upB: TcpUpstream;
  let blackhole: ChildProcess;
  let blackholePort = 0;
  const open: net.Socket[] = [];
  let a1: net.Socket;
  const tcp = async (port: number) => {
    const s = await connectTcp(port);
    s.on('error', () => {});
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    upA = await startTcpUpstream();
    upB = await startTcpUpstream();
    // A listener that never accepts, with a backlog of 0: once its queue is full, connecting
    // to it hangs (the kernel drops the SYNs), which is what a connect timeout is for.
    blackhole = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    blackholePort = await new Promise<number>((resolve) => blackhole.stdout!.once('data', (c) => resolve(Number(String(c).trim()))));
    // Fill its accept queue (these connections complete in the kernel and are never accepted).
    for (let i = 0; i < 3; i++) {
      const s = await Promise.race([connectTcp(blackholePort), sleep(300).then(() => undefined)]);
      if (s) open.push(s);
    }
    const dir = mkdtempSync(join(tmpdir(), 'wharf-tcp-limits-'));
    writeRoutes(join(dir, 'caps.json'), [
      { id: 'a', kind: 'tcp', target: upA.target, port: ports.a },
      { id: 'b', kind: 'tcp', target: upB.target, port: ports.b },
    ]);
    writeRoutes(join(dir, 'timers.json'), [
      { id: 'quiet', kind: 'tcp', target: upA.target, port: ports.quiet },
      { id: 'stuck', kind: 'tcp', target: `tcp://127.0.0.1:${blackholePort}`, port: ports.stuck },
    ]);
    caps = await startGateway({ args: ['--routes', join(dir, 'caps.json'), '--tcp-max-connections', '3', '--tcp-max-connections-per-route', '2', '--tcp-ports', `${base + 10}-${base + 14}`] });
    timers = await startGateway({ args: ['--routes', join(dir, 'timers.json'), '--tcp-idle-timeout-ms', '400', '--upstream-connect-timeout-ms', '300', '--tcp-ports', `${base + 15}-${base + 19}`] });
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await caps?.stop();
    await timers?.stop();
    await Promise.all([upA, upB].map((u) => u?.close()));
    blackhole?.kill();
  });

  it('caps connections per route: one over the cap is closed without reaching the upstream', async () => {
    a1 = await tcp(ports.a);
    const a2 = await tcp(ports.a);
    expect((await echo(a1, 'a1')).toString()).toBe('a1');
    expect((await echo(a2, 'a2')).toString()).toBe('a2');
    const a3 = await tcp(ports.a);
    a3.write('a3');
    expect((await drain(a3)).data.length).toBe(0);
    expect(upA.connections).toBe(2);
    // Both admitted ones still work.
    expect((await echo(a1, 'a1 again')).toString()).toBe('a1 again');
  });

  it('caps connections in total across routes', async () => {
    const b1 = await tcp(ports.b);
    expect((await echo(b1, 'b1')).toString()).toBe('b1');
    // Three are open now (a1, a2, b1): a fourth, on a route under its own cap, is refused.
    const b2 = await tcp(ports.b);
    b2.write('b2');
    expect((await drain(b2)).data.length).toBe(0);
    expect(upB.connections).toBe(1);
  });

  it('admits again once a connection closes', async () => {
    a1.end();
    await drain(a1);
    await until('the closed connection is let go', async () => (await metric(caps.adminPort, 'wharf_gateway_open_connections', { route: 'a', kind: 'tcp' })) === 1);
    const a4 = await tcp(ports.a);
    expect((await echo(a4, 'a4')).toString()).toBe('a4');
  });

  it('closes a connection that stays silent past --tcp-idle-timeout-ms, and keeps a busy one', async () => {
    const silent = await tcp(ports.quiet);
    const busy = await tcp(ports.quiet);
    expect((await echo(silent, 'hi')).toString()).toBe('hi');
    const started = Date.now();
    const silentClosed = drain(silent, 5_000);
    let busyClosed = false;
    busy.once('close', () => (busyClosed = true));
    // Keep `busy` talking every 100 ms for 1.2 s: three idle timeouts' worth.
    for (let i = 0; i < 12; i++) {
      expect((await echo(busy, `tick ${i}`)).toString()).toBe(`tick ${i}`);
      await sleep(100);
    }
    await silentClosed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(busyClosed).toBe(false);
  });

  it('gives up on an upstream that does not complete the connect within --upstream-connect-timeout-ms', async () => {
    const before = (await metric(timers.adminPort, 'wharf_gateway_tcp_connect_errors_total', { route: 'stuck' })) ?? 0;
    const s = await tcp(ports.stuck);
    const started = Date.now();
    const { data } = await drain(s, 5_000);
    const took = Date.now() - started;
    expect(data.length).toBe(0);
    expect(took).toBeGreaterThanOrEqual(200);
    expect(took).toBeLessThan(3_000);
    expect(await metric(timers.adminPort, 'wharf_gateway_tcp_connect_errors_total', { route: 'stuck' })).toBe(before + 1);
  });
});

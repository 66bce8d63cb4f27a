import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import {
  adminRoutes, connectTcp, drain, echo, randomPortBase, refuses, startTcpUpstream, until, writeRoutes, type TcpUpstream,
} from '../support/tcp.ts';

// Issue "Raw TCP apps through the gateway": listeners open and close as the routes file
// changes without disturbing other routes; a removed route stops accepting at once, its live
// connections are closed after --tcp-close-grace-ms, and its port is free for another route.

const GRACE_MS = 500;

describe('TCP route removal and port reuse', () => {
  const base = randomPortBase();
  const ports = { fixed: base, stay: base + 1, moved: base + 2, busy: base + 3 };
  let gw: GatewayProcess;
  let upA: TcpUpstream;
  let upB: TcpUpstream;
  let upTls: TcpUpstream;
  let file: string;
  let squatter: net.Server | undefined;
  const open: net.Socket[] = [];
  const tcp = async (port: number) => {
    const s = await connectTcp(port);
    open.push(s);
    return s;
  };
  const routes = {
    fixed: () => ({ id: 'fixed', kind: 'tcp', target: upA.target, port: ports.fixed }),
    stay: (port = ports.stay) => ({ id: 'stay', kind: 'tcp', target: upB.target, port }),
    sec: () => ({ id: 'sec', kind: 'tcp', target: upTls.target, tls: 'terminate' }),
  };
  const tlsConnect = (servername: string): Promise<tls.TLSSocket> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername, ca: gw.ca }, () => resolve(s));
    s.once('error', reject);
    open.push(s);
  });

  // The live connections the removal must close (and the one on a route that stays).
  let onFixed: net.Socket;
  let onStay: net.Socket;
  let onSec: tls.TLSSocket;
  let removedUpAConnections = -1;

  beforeAll(async () => {
    upA = await startTcpUpstream();
    upB = await startTcpUpstream();
    upTls = await startTcpUpstream();
    file = join(mkdtempSync(join(tmpdir(), 'wharf-tcp-removal-')), 'routes.json');
    writeRoutes(file, [routes.fixed(), routes.stay(), routes.sec()]);
    gw = await startGateway({ args: ['--routes', file, '--tcp-close-grace-ms', String(GRACE_MS), '--tcp-ports', `${base + 10}-${base + 19}`] });
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    squatter?.close();
    await gw?.stop();
    await Promise.all([upA, upB, upTls].map((u) => u?.close()));
  });

  it('serves every route before the change', async () => {
    onFixed = await tcp(ports.fixed);
    onStay = await tcp(ports.stay);
    onSec = await tlsConnect('sec.apps.localhost');
    expect((await echo(onFixed, 'fixed 1')).toString()).toBe('fixed 1');
    expect((await echo(onStay, 'stay 1')).toString()).toBe('stay 1');
    expect((await echo(onSec, 'sec 1')).toString()).toBe('sec 1');
    expect(upA.connections).toBe(1);
    expect(upTls.connections).toBe(1);
  });

  it('stops accepting at once when the route is removed, closes its live connections after the grace period, and leaves other routes alone', async () => {
    const secClosed = drain(onSec, 5_000);
    let fixedClosedAt = 0;
    onFixed.once('close', () => (fixedClosedAt = Date.now()));
    const changed = Date.now();
    writeRoutes(file, [routes.stay()]);
    await until('the removed route\'s port refuses connections', () => refuses(ports.fixed), 5_000, 10);
    const refusedAt = Date.now();
    // (The polls above were accepted, and carried to upA, until the port closed.)
    const upAConnections = upA.connections;
    // The grace period: the live connection still carries bytes after the port stopped accepting.
    expect(fixedClosedAt, 'the live connection was closed before the grace period').toBe(0);
    expect((await echo(onFixed, 'during the grace period', 1_000)).toString()).toBe('during the grace period');
    const { data } = await drain(onFixed, 5_000);
    expect(data.length).toBe(0);
    expect(fixedClosedAt - refusedAt, 'closed too soon after the route went').toBeGreaterThanOrEqual(GRACE_MS - 200);
    expect(fixedClosedAt - changed, 'closed too late after the route went').toBeLessThan(4_000);
    await secClosed;
    // New connections to the removed routes never reach their upstreams.
    expect(await refuses(ports.fixed)).toBe(true);
    const tlsBefore = upTls.connections;
    const again = await tlsConnect('sec.apps.localhost').catch(() => undefined);
    if (again) {
      again.on('error', () => {});
      again.write('GET / HTTP/1.1\r\nHost: sec.apps.localhost\r\n\r\n');
      await sleep(200);
      again.destroy();
    }
    expect(upTls.connections).toBe(tlsBefore);
    expect(upA.connections).toBe(upAConnections);
    removedUpAConnections = upAConnections;
    // The other route's live connection was not disturbed.
    expect(onStay.destroyed).toBe(false);
    expect((await echo(onStay, 'stay 2')).toString()).toBe('stay 2');
    const ids = (await adminRoutes(gw.adminPort)).routes.map((r) => r.id);
    expect(ids).toEqual(['stay']);
  });

  it('frees the port: a new route naming the same port serves on it', async () => {
    const before = upB.connections;
    writeRoutes(file, [routes.stay(), { id: 'fresh', kind: 'tcp', target: upB.target, port: ports.fixed }]);
    await until('the port serves again', async () => !(await refuses(ports.fixed)));
    const s = await tcp(ports.fixed);
    expect((await echo(s, 'reused')).toString()).toBe('reused');
    // It reaches the new route's upstream, not the old one's.
    expect(upB.connections).toBeGreaterThan(before);
    expect(upA.connections).toBe(removedUpAConnections);
    const fresh = (await adminRoutes(gw.adminPort)).routes.find((r) => r.id === 'fresh');
    expect(fresh).toMatchObject({ port: ports.fixed, state: 'active' });
    s.end();
    expect((await echo(onStay, 'stay 3')).toString()).toBe('stay 3');
  });

  it('moves a route to its new port; the old port is freed and its live connection keeps working', async () => {
    writeRoutes(file, [routes.stay(ports.moved), { id: 'fresh', kind: 'tcp', target: upB.target, port: ports.fixed }]);
    await until('the new port serves', async () => !(await refuses(ports.moved)));
    expect(await refuses(ports.stay)).toBe(true);
    const s = await tcp(ports.moved);
    expect((await echo(s, 'moved')).toString()).toBe('moved');
    expect((await adminRoutes(gw.adminPort)).routes.find((r) => r.id === 'stay')).toMatchObject({ port: ports.moved });
    // A changed route is not a removed one: the connection made before the change lives on.
    await sleep(GRACE_MS + 300);
    expect((await echo(onStay, 'stay 4')).toString()).toBe('stay 4');
  });

  it('reports a route whose port is taken as not listening, without disturbing the others', async () => {
    squatter = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => squatter!.listen(ports.busy, '127.0.0.1', r));
    writeRoutes(file, [
      routes.stay(ports.moved),
      { id: 'fresh', kind: 'tcp', target: upB.target, port: ports.fixed },
      { id: 'busy', kind: 'tcp', target: upA.target, port: ports.busy },
      // Added in the same change: proves the change was applied, not merely listed.
      { id: 'extra', kind: 'tcp', target: upB.target },
    ]);
    const find = async (id: string) => (await adminRoutes(gw.adminPort)).routes.find((r) => r.id === id);
    await until('extra listens', async () => typeof (await find('extra'))?.port === 'number');
    const extra = await tcp((await find('extra'))!.port as number);
    expect((await echo(extra, 'extra')).toString()).toBe('extra');
    expect(await find('busy')).toMatchObject({ state: 'not listening', port: null });
    expect((await echo(onStay, 'stay 5')).toString()).toBe('stay 5');
    const s = await tcp(ports.fixed);
    expect((await echo(s, 'fresh still')).toString()).toBe('fresh still');
    expect(gw.child.exitCode).toBeNull();
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request, type Reply } from '../support/https-client.ts';
import { sample } from '../support/prometheus-text.ts';
import { connectTcp, freePort, startTcpUpstream, until, writeRoutes, type TcpUpstream } from '../support/tcp.ts';
import { createSigner, jwks, linkClaims, type Signer } from '../support/tokens.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// `wharf gateway --workers 2`: one supervisor process, two workers serving the same ports
// (gateway/supervisor/). Whatever worker a connection lands on, the gateway behaves as one.

const CAP = 40;
/** --tcp-max-connections-per-route: above the 10 connections of the plain TCP test. */
const TCP_CAP = 12;
const HOST = 'pub.apps.localhost';

describe('the gateway on several workers', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let echo: TcpUpstream;
  let signer: Signer;
  let tcpPort: number;

  /** The worker processes: the supervisor's children. */
  const workers = (): number[] => {
    const out = execFileSync('ps', ['--ppid', String(gw.child.pid), '-o', 'pid='], { encoding: 'utf8' });
    return out.split('\n').map((l) => Number(l.trim())).filter((pid) => pid > 0).sort();
  };

  /** The processes holding established connections accepted on `port` (the HTTPS port unless told). */
  const acceptors = (port = gw.httpsPort): Set<number> => {
    const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
  };

  /**
   * Opens connections that land on worker `pid`: the others are paused (SIGSTOP) meanwhile, so
   * only `pid` accepts from the shared socket. Left to the kernel, a busy machine can hand every
   * connection to one worker, and a test that needs both would fail by chance.
   */
  const on = async <T>(pid: number, connect: () => Promise<T>): Promise<T> => {
    const others = workers().filter((w) => w !== pid);
    for (const w of others) process.kill(w, 'SIGSTOP');
    try {
      return await connect();
    } finally {
      for (const w of others) process.kill(w, 'SIGCONT');
    }
  };
  /** `count` connections from `connect`, half accepted by each worker. */
  const onEach = async <T>(count: number, connect: () => Promise<T>): Promise<T[]> => {
    const [a, b] = workers();
    const half = Math.floor(count / 2);
    return [
      ...(await on(a, () => Promise.all(Array.from({ length: half }, connect)))),
      ...(await on(b, () => Promise.all(Array.from({ length: count - half }, connect)))),
    ];
  };

  const get = (path = '/', options: { host?: string; agent?: https.Agent } = {}): Promise<Reply> =>
    request(gw.httpsPort, { host: options.host ?? HOST, path, ca: gw.ca, agent: options.agent });

  const open = (session?: Buffer): Promise<tls.TLSSocket | 'refused'> => new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: HOST, ca: gw.ca, session, ALPNProtocols: ['http/1.1'] });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', () => resolve('refused'));
    socket.once('close', () => resolve('refused'));
  });

  /**
   * A connection to the TCP route that echoed a line: proof that a worker accepted it and
   * proxied it (a bare connect only reaches the shared backlog, which either worker may take
   * once both run again). Rejects when the gateway closes it instead.
   */
  const echoedTcp = async (): Promise<{ socket: net.Socket; answer: string }> => {
    const socket = await connectTcp(tcpPort);
    // A refused connection may end in a reset: its 'close' says so below.
    socket.on('error', () => {});
    const answer = await new Promise<string>((resolve, reject) => {
      socket.once('data', (c) => resolve(c.toString()));
      socket.once('close', () => reject(new Error('closed by the gateway')));
      socket.write(`hello ${socket.localPort}`);
    });
    return { socket, answer };
  };

  const connectWs = (): Promise<WebSocket> => new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/ws`, { headers: { host: HOST }, servername: HOST, ca: gw.ca } as WebSocket.ClientOptions);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

  const echoed = (ws: WebSocket, text: string): Promise<string> => new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.once('close', () => reject(new Error('closed')));
    ws.send(text);
  });

  beforeAll(async () => {
    app = await startUpstream();
    echo = await startTcpUpstream();
    signer = await createSigner();
    tcpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-workers-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeRoutes(join(dir, 'routes.json'), [
      { id: 'pub', target: app.url, public: true },
      { id: 'r1', target: app.url },
      { id: 'echo', kind: 'tcp', target: echo.target, port: tcpPort, tls: 'none' },
    ]);
    gw = await startGateway({
      args: ['--workers', '2', '--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json'), '--max-connections-per-ip', String(CAP), '--tcp-max-connections-per-route', String(TCP_CAP), '--drain-grace-ms', '8000'],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
    await echo?.close();
  });

  it('runs two workers that accept on the one HTTPS port, counting connections per client address across them', async () => {
    expect(workers()).toHaveLength(2);
    const held = await onEach(CAP, () => open());
    try {
      expect(held.filter((s) => s === 'refused')).toHaveLength(0);
      // Both workers hold some of them, and yet the cap is the gateway's, not each worker's.
      expect([...acceptors()].sort()).toEqual(workers());
      expect(await open()).toBe('refused');
      (held.pop() as tls.TLSSocket).destroy();
      await until('a freed place is given back', async () => {
        const again = await open();
        if (again === 'refused') return false;
        held.push(again);
        return true;
      });
    } finally {
      for (const s of held) if (s !== 'refused') s.destroy();
    }
  });

  it('resumes a TLS session on whichever worker takes the connection (shared ticket keys)', async () => {
    const ticket = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, servername: HOST, ca: gw.ca, ALPNProtocols: ['http/1.1'] });
      socket.once('session', (session: Buffer) => {
        socket.destroy();
        resolve(session);
      });
      socket.once('error', reject);
    });
    const resumed = await onEach(30, () => open(ticket));
    try {
      expect([...acceptors()].sort()).toEqual(workers());
      expect(resumed.map((s) => s !== 'refused' && s.isSessionReused())).toEqual(resumed.map(() => true));
    } finally {
      for (const s of resumed) if (s !== 'refused') s.destroy();
    }
  });

  it('takes a one-time link once per gateway, whatever the connections it arrives on', async () => {
    const token = await signer.sign(linkClaims('r1'));
    const replies = await Promise.all(Array.from({ length: 20 }, () => get(`/?wharf_token=${token}`, { host: 'r1.apps.localhost' })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([303, ...Array(19).fill(401)]);
    expect(replies.filter((r) => r.status === 401).every((r) => r.headers['x-wharf-error'] === 'GW_LINK_USED')).toBe(true);
  });

  it('answers /metrics for the whole gateway: the workers\' counts added up', async () => {
    const before = sample((await plainGet(gw.adminPort, '/metrics')).body, 'wharf_gateway_requests_total', { route: 'pub', code: '200' }) ?? 0;
    const N = 30;
    const replies = await Promise.all(Array.from({ length: N }, (_, i) => get(`/count/${i}`)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const text = (await plainGet(gw.adminPort, '/metrics')).body;
    expect(sample(text, 'wharf_gateway_requests_total', { route: 'pub', code: '200' })).toBe(before + N);
    expect(sample(text, 'wharf_gateway_request_duration_seconds_bucket', { route: 'pub', le: '+Inf' })).toBe(before + N);
    const routes = JSON.parse((await plainGet(gw.adminPort, '/routes')).body) as { routes: { id: string; stats?: { requests?: number } }[] };
    expect(routes.routes.map((r) => r.id).sort()).toEqual(['echo', 'pub', 'r1']);
  });

  it('serves a raw TCP route\'s port from every worker', async () => {
    const held = await onEach(10, echoedTcp);
    try {
      expect(held.map((h) => h.answer)).toEqual(held.map((h) => `hello ${h.socket.localPort}`));
      expect([...acceptors(tcpPort)].sort()).toEqual(workers());
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('caps a TCP route\'s connections across workers, not once per worker', async () => {
    // The previous test's connections are given back once the workers saw them close.
    await until('no TCP connection open on the route', async () =>
      (sample((await plainGet(gw.adminPort, '/metrics')).body, 'wharf_gateway_open_connections', { route: 'echo', kind: 'tcp' }) ?? 0) === 0);
    const held = await onEach(TCP_CAP, echoedTcp);
    try {
      expect([...acceptors(tcpPort)].sort()).toEqual(workers());
      // One more, on either worker, is closed without reaching the app.
      const refused = await connectTcp(tcpPort);
      refused.on('error', () => {});
      const closed = await new Promise<string>((resolve) => {
        refused.once('data', () => resolve('echoed'));
        refused.once('close', () => resolve('closed'));
        refused.write('over the cap');
      });
      expect(closed).toBe('closed');
      held.pop()!.socket.destroy();
      await until('a freed place is given back', async () => {
        const again = await echoedTcp().catch(() => undefined);
        if (again === undefined) return false;
        held.push(again);
        return true;
      });
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('replaces a worker killed with SIGKILL while the other keeps serving', async () => {
    const [victim, survivor] = workers();
    process.kill(victim, 'SIGKILL');
    await until('the killed worker is gone', () => !workers().includes(victim));
    for (let i = 0; i < 20; i++) expect((await get(`/after-kill/${i}`)).status).toBe(200);
    await until('a new worker takes its place', () => workers().length === 2, 15_000);
    expect(workers()).toContain(survivor);
    expect(gw.output()).toMatch(/gateway worker died; starting another/);
  });

  it('rolls the workers on SIGHUP without dropping a request or an open WebSocket', { timeout: 60_000 }, async () => {
    const before = workers();
    const ws = await connectWs();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
    const statuses: number[] = [];
    const failures: string[] = [];
    let stop = false;
    const load = (async () => {
      let i = 0;
      while (!stop) {
        const batch = [get(`/roll/${i++}`, { agent }), get(`/roll/${i++}`, { agent }), get(`/roll/${i++}`), get(`/roll/${i++}`)];
        for (const r of await Promise.allSettled(batch)) {
          if (r.status === 'fulfilled') statuses.push(r.value.status);
          else failures.push(String(r.reason));
        }
      }
    })();
    try {
      process.kill(gw.child.pid!, 'SIGHUP');
      await until('both workers replaced', () => {
        const now = workers().filter((pid) => !before.includes(pid));
        return now.length === 2;
      }, 30_000);
      // The old workers drain: the WebSocket opened before the roll still works.
      expect(await echoed(ws, 'through the roll')).toBe('through the roll');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stop = true;
      await load;
      agent.destroy();
    }
    expect(failures).toEqual([]);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Past --drain-grace-ms the old worker closes what is still open, and exits.
    await new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())));
    await until('the drained workers exit', () => before.every((pid) => !workers().includes(pid)), 15_000);
    const fresh = await connectWs();
    expect(await echoed(fresh, 'after')).toBe('after');
    fresh.close();
  });
});

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { plainGet } from '../support/https-client.ts';
import { sample } from '../support/prometheus-text.ts';
import { exec, startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { adminRoutes, until } from '../support/tcp.ts';
import { WS_ECHO_SOURCE } from '../support/ws-echo-source.ts';

/*
 * Issue 19, "a churn soak": a real control, gateway and agent on the real Docker Engine while
 * routes come and go (apps launched and stopped through the CLI and the API all along) and
 * clients keep opening and closing HTTPS requests, WebSockets and raw TCP connections through
 * the gateway, half of them to an upstream that is down or restarting:
 * - `flap-*`: the server process is SIGKILLed inside its container every few seconds and
 *   restarted by a shell loop: connections die mid-way, and for a moment nothing listens;
 * - `dead-*`: the server answered the readiness probe, then died for good: the route stays
 *   active and its upstream refuses everything — configurable-http-proxy #557, where a proxy
 *   leaked a socket on each WebSocket handshake that failed this way;
 * - `churn-*`: launched, served a few seconds, stopped and removed: clients see it starting,
 *   serving, refusing and gone (404, or a closed TCP port).
 * Every S seconds the gateway's, control's and agent's open file descriptors, sockets, RSS and
 * (from their /metrics) heap used are sampled. Once the churn stops and the clients are closed,
 * fds and sockets must come back to their baseline, none of them may grow over the run, every
 * client operation must have had an answer or a clean refusal, and no process may have died.
 *
 * WHARF_CHURN_S (default 20, for `npm test`) is the length of the churn in seconds, and
 * WHARF_CHURN_SAMPLE_S (default 2, so that the short run has ten samples) the sample interval;
 * the soak runs WHARF_CHURN_S=1200. A summary for the report goes to stderr (`[soak-churn]`).
 */
const CHURN_S = Number(process.env.WHARF_CHURN_S ?? 20);
const SAMPLE_S = Number(process.env.WHARF_CHURN_SAMPLE_S ?? 2);
if (!(CHURN_S > 0) || !(SAMPLE_S > 0)) throw new Error(`WHARF_CHURN_S (${process.env.WHARF_CHURN_S}) and WHARF_CHURN_SAMPLE_S (${process.env.WHARF_CHURN_SAMPLE_S}) must be positive numbers of seconds`);
const NODE_IMAGE = 'wharf/node:local';
/** Longest any one client operation may take before it counts as hung (an error that should not happen). */
const OP_DEADLINE_MS = 15_000;
/** Client loops per kind, and the pause each takes between operations (2 cores, shared: a steady trickle, not a flood). */
const LOOPS_PER_KIND = 2;
const PAUSE_MS = 40;
/** How long a churned app serves once its route is active, before it is stopped. */
const CHURN_LIFE_MS = 3_000;
/** After the churn: how long fds and sockets get to come back (the gateway's upstream pools idle out in ~5 s). */
const SETTLE_MS = 30_000;
/*
 * Tolerances, justified:
 * - At the end, per process, fds other than sockets, and sockets other than connections
 *   between Wharf's own processes: baseline + 2 (END_SLACK). The check polls for up to
 *   SETTLE_MS, so what is only in flight when a sample is taken (the agent's Docker API calls,
 *   a resource sample every 5 s; a heartbeat) passes in a second; 2 covers the last of those
 *   and a file a process has open for a moment (the routes file, the store's journal).
 * - Connections between Wharf's processes (the agent's and the gateway's to control, and
 *   control's ends of them): baseline + 8 (LINK_SLACK). They are keep-alive pools: the agent's
 *   fetch opens as many connections to control as it had requests at once during the churn
 *   (heartbeats, job polls, status and console reports of the churned apps) and keeps the
 *   spare ones until control's keep-alive timeout (Fastify's 72 s), longer than SETTLE_MS.
 *   Measured after a 35 s churn: up to 4 more at the agent (and at control) than at the
 *   baseline, back to it after ~50 s. Bounded by the pool's concurrency, not the run's
 *   length; the growth check below still catches a pool that grows all along.
 * - A leak on any path the churn exercises costs a socket or an fd per operation at least:
 *   hundreds to thousands over even the short run, far above either.
 * - fds and sockets over the run: the median of the last third of samples may exceed the
 *   median of the first third by at most 10 + 25 %. During the churn they follow the clients'
 *   operations in flight (6 loops, each with a client and an upstream connection open at the
 *   gateway) and the churned apps' console and stats streams at the agent, which move by a
 *   few tens between samples; a per-operation leak grows without bound and crosses that within
 *   the first minutes of the soak.
 * - RSS and heap used over the run: the median of the last third may exceed the highest of the
 *   first third by 25 % + 32 MiB (RSS) or + 16 MiB (heap). Both move with garbage collection
 *   and with V8 growing its heap to the load in the first minutes (the first third still holds
 *   some of that); a leak of a few kB per operation is hundreds of MiB over the soak.
 */
const END_SLACK = 2;
const LINK_SLACK = 8;
const GROWTH_ABS = 10;
const GROWTH_REL = 0.25;
const MiB = 1 << 20;

// The apps' server, plain Node (RFC 6455, no npm packages in the container): HTTP answers
// `ok NAME`, a WebSocket upgrade on 8080 is echoed (frames under 64 KiB, unfragmented), 9000
// is a raw TCP echo. MODE=flap: SIGKILLs itself after 1.5–4 s (a shell loop restarts it);
// MODE=dead: SIGKILLs itself a second after its first connection (the readiness probe).
const SERVER = String.raw`
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');
const NAME = process.env.NAME || 'app';
const MODE = process.env.MODE || 'stable';
const die = () => process.kill(process.pid, 'SIGKILL');
${WS_ECHO_SOURCE}
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok ' + NAME + '\n');
});
server.on('upgrade', wsEcho);
const tcp = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});
server.listen(8080);
tcp.listen(9000);
if (MODE === 'flap') setTimeout(die, 1500 + Math.random() * 2500);
if (MODE === 'dead') {
  let armed = false;
  const arm = () => { if (!armed) { armed = true; setTimeout(die, 1000); } };
  server.on('connection', arm);
  tcp.on('connection', arm);
}
`;

type TargetClass = 'up' | 'flap' | 'dead' | 'churn';
type Outcome = 'ok' | 'refused' | 'cut' | 'aborted' | 'unexpected';
/** What each class of target may answer; anything else is an error that should not happen. */
const ALLOWED: Record<TargetClass, Outcome[]> = {
  up: ['ok', 'aborted'],
  flap: ['ok', 'refused', 'cut', 'aborted'],
  dead: ['refused', 'aborted'],
  churn: ['ok', 'refused', 'cut', 'aborted'],
};
/** The gateway's refusals for an upstream that is down, starting or gone (docs/gateway.md, "Errors"). */
const REFUSALS = new Set(['404 GW_ROUTE_NOT_FOUND', '502 GW_UPSTREAM_REFUSED', '502 GW_UPSTREAM_RESET', '503 GW_ROUTE_STARTING']);

interface HttpTarget { cls: TargetClass; id: string; host: string; token: string; body?: string }
interface TcpTarget { cls: TargetClass; id: string; port: number }
interface Result { outcome: Outcome; detail: string }

interface Sample {
  t: number;
  fds: number;
  sockets: number;
  /** Of the sockets, connections between two of Wharf's processes (agent→control, gateway→control and their other ends). */
  links: number;
  rss: number;
  heap: number | undefined;
  /** Each socket in words (see sampleAll), for the report. */
  described: string[];
}
interface Watched {
  name: string;
  pid: number;
  alive: () => boolean;
  metrics: () => Promise<string>;
  heapMetric: string;
  samples: Sample[];
  baseline?: Sample;
  end?: Sample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const mib = (n: number | undefined) => (n === undefined ? '?' : (n / MiB).toFixed(1));

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};
interface TcpRow { state: string; local: number; remote: number }

/** The socket inodes behind a process's fds, and how many fds it has: /proc/PID/fd, whose links read `socket:[INODE]`. */
function fdsOf(pid: number): { fds: number; inodes: string[] } {
  const inodes: string[] = [];
  let fds = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the readlink
    }
    fds++;
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.push(m[1]);
  }
  return { fds, inodes };
}

/** /proc/net/tcp and tcp6 by inode (the processes and the apps' published ports share the host's network namespace). */
function tcpTable(pid: number): Map<string, TcpRow> {
  const rows = new Map<string, TcpRow>();
  const port = (hex: string) => parseInt(hex.slice(hex.lastIndexOf(':') + 1), 16);
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.trim().split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      rows.set(f[9], { state: TCP_STATES[f[3]] ?? f[3], local: port(f[1]), remote: port(f[2]) });
    }
  }
  return rows;
}

/** The entries of `b` not in `a`, counted (`+2 tcp ESTABLISHED agent→control`), and the other way round. */
function socketDiff(a: string[], b: string[]): string {
  const tally = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const ta = tally(a);
  const tb = tally(b);
  const parts: string[] = [];
  for (const k of new Set([...ta.keys(), ...tb.keys()])) {
    const d = (tb.get(k) ?? 0) - (ta.get(k) ?? 0);
    if (d) parts.push(`${d > 0 ? '+' : ''}${d} ${k}`);
  }
  return parts.length ? parts.join(', ') : 'none';
}

describe('churn soak: routes come and go, upstreams die, clients come and go', () => {
  let stack: Stack;
  let web: HttpTarget;
  let flapWeb: HttpTarget;
  let deadWeb: HttpTarget;
  let echo: TcpTarget;
  let flapTcp: TcpTarget;
  let deadTcp: TcpTarget;
  /** The churned apps clients aim at: the newest of each kind, kept as a target after it is stopped and removed. */
  const churn: { web?: HttpTarget; tcp?: TcpTarget } = {};
  const watched: Watched[] = [];
  /** Operations by `kind class outcome` (`http flap refused`), and refusals and unexpected ones by what was seen (`… refused: 502 GW_UPSTREAM_RESET`). */
  const counts = new Map<string, number>();
  const unexpected: string[] = [];
  const churnErrors: string[] = [];
  const deaths: string[] = [];
  const routes = { added: 0, removed: 0, launched: 0, stopped: 0 };
  /** Every client connection still open, to be closed in afterAll whatever happens. */
  const live = new Map<object, () => void>();
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 4 });
  let churnStartedAt = 0;
  let churnSeconds = 0;
  let gatewayRoutes = { before: NaN, after: NaN };
  let openAtEnd: Record<string, number> = {};

  /** Listening ports by the name of what listens there (`control`, `gateway-https`…): the far end of a connection, in words. */
  const portNames = new Map<number, string>();
  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  function record(kind: 'http' | 'ws' | 'tcp', cls: TargetClass, id: string, r: Result): void {
    const outcome = ALLOWED[cls].includes(r.outcome) ? r.outcome : 'unexpected';
    count(`${kind} ${cls} ${outcome}`);
    if (r.outcome === 'refused' || outcome === 'unexpected') count(`${kind} ${cls} ${outcome}: ${r.detail}`);
    if (outcome === 'unexpected' && unexpected.length < 20) unexpected.push(`${kind} to ${cls} ${id} at +${Math.round((Date.now() - churnStartedAt) / 1000)} s: ${r.outcome} (${r.detail})`);
  }

  /** Instance view → its https host and a gateway token from control's API. */
  async function httpTarget(cls: TargetClass, view: InstanceView, body?: string): Promise<HttpTarget> {
    const made = await stack.api('POST', `/api/v1/instances/${view.id}/token`, { lifetimeS: 86_400 });
    if (made.status !== 200 && made.status !== 201) throw new Error(`token for ${view.id}: ${made.status} ${JSON.stringify(made.json)}`);
    return { cls, id: view.id, host: `${view.id}.apps.localhost`, token: made.json.token as string, body };
  }
  const tcpPort = (view: InstanceView) => Number(view.links.tcp!.split(':').at(-1));

  /** Launches one app with the server above through `wharf launch -f`. */
  function launch(name: string, mode: 'stable' | 'flap' | 'dead', routing: 'https' | 'tcp'): Promise<InstanceView> {
    // flap: a shell loop restarts the server each time it kills itself; dead: once dead, the shell only sleeps.
    const command = mode === 'flap' ? "sh -c 'while :; do node /app/srv.js; sleep 0.5; done'"
      : mode === 'dead' ? "sh -c 'node /app/srv.js; sleep 1000000'" : 'node /app/srv.js';
    return stack.launch({
      name, image: NODE_IMAGE, command, env: { NAME: name, MODE: mode },
      routing: routing === 'https' ? { mode: 'https', port: 8080 } : { mode: 'tcp', port: 9000 },
      files: [{ path: '/app/srv.js', content: SERVER, mode: '0644' }],
    });
  }

  /** Waits until the gateway lists the route as active (`present`) or no longer lists it. */
  async function routeAtGateway(id: string, present: boolean, ms = 20_000): Promise<void> {
    await until(`the gateway ${present ? 'has' : 'dropped'} route ${id}`, async () => {
      const route = (await adminRoutes(stack.gateway.adminPort)).routes.find((r) => r.id === id);
      return present ? route?.state === 'active' : route === undefined;
    }, ms, 100);
  }

  // ---- clients ---------------------------------------------------------------------------

  /** One HTTPS request through the gateway; `abort`: the client gives up after a few ms. */
  function httpOp(t: HttpTarget, agent: https.Agent | false, abort: boolean): Promise<Result> {
    return new Promise((resolve) => {
      let settled = false;
      let aborted = false;
      const done = (r: Result) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        live.delete(req);
        resolve(r);
      };
      const req = https.request({
        host: '127.0.0.1', port: stack.gateway.httpsPort, path: '/', servername: t.host, ca: stack.gateway.ca, agent,
        headers: { host: t.host, authorization: `Bearer ${t.token}`, accept: 'application/json' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(aborted ? { outcome: 'aborted', detail: 'by the client' } : { outcome: 'unexpected', detail: `response ${res.statusCode}: ${err.message}` }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          const code = res.headers['x-wharf-error'];
          if (res.statusCode === 200 && !code && (t.body ? body === t.body : body.startsWith('ok '))) done({ outcome: 'ok', detail: '200' });
          else if (code && REFUSALS.has(`${res.statusCode} ${code}`)) done({ outcome: 'refused', detail: `${res.statusCode} ${code}` });
          else done({ outcome: 'unexpected', detail: `${res.statusCode} ${code ?? ''} ${body.slice(0, 120)}` });
        });
      });
      live.set(req, () => req.destroy());
      req.on('error', (err: NodeJS.ErrnoException) => done(aborted ? { outcome: 'aborted', detail: 'by the client' } : { outcome: 'unexpected', detail: `request: ${err.code ?? err.message}` }));
      const deadline = setTimeout(() => {
        done({ outcome: 'unexpected', detail: `no answer in ${OP_DEADLINE_MS} ms` });
        req.destroy();
      }, OP_DEADLINE_MS);
      req.end();
      if (abort) setTimeout(() => { aborted = true; req.destroy(); }, Math.random() * 20);
    });
  }

  /** One WebSocket through the gateway: open, two echoes, then a clean close or a terminate; `abort`: terminated before the handshake ends. */
  function wsOp(t: HttpTarget, n: number, abort: boolean): Promise<Result> {
    return new Promise((resolve) => {
      let settled = false;
      let aborted = false;
      let opened = false;
      let echoed = 0;
      const done = (r: Result) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        live.delete(ws);
        resolve(r);
      };
      const ws = new WebSocket(`wss://127.0.0.1:${stack.gateway.httpsPort}/ws`, {
        headers: { host: t.host, authorization: `Bearer ${t.token}`, accept: 'application/json' }, servername: t.host, ca: stack.gateway.ca,
      } as WebSocket.ClientOptions);
      live.set(ws, () => ws.terminate());
      const messages = [`m1 ${n} ${randomBytes(8).toString('hex')}`, `m2 ${n} ${randomBytes(300).toString('hex')}`];
      ws.on('unexpected-response', (_req, res) => {
        const answer = `${res.statusCode} ${res.headers['x-wharf-error'] ?? ''}`;
        res.resume();
        ws.terminate();
        done(REFUSALS.has(answer) ? { outcome: 'refused', detail: answer } : { outcome: 'unexpected', detail: `handshake answered ${answer}` });
      });
      ws.on('open', () => {
        opened = true;
        ws.send(messages[0]);
      });
      ws.on('message', (data) => {
        if (String(data) !== messages[echoed]) {
          ws.terminate();
          done({ outcome: 'unexpected', detail: `echo ${echoed + 1} differs` });
          return;
        }
        echoed++;
        if (echoed < messages.length) {
          ws.send(messages[echoed]);
          return;
        }
        // Both echoes back: hold it open a moment, then half the time a clean close, else a terminate.
        setTimeout(() => {
          if (n % 2) {
            ws.terminate();
            done({ outcome: 'ok', detail: 'terminated' });
          } else ws.close(1000);
        }, Math.random() * 200);
      });
      ws.on('close', (code) => {
        if (echoed === messages.length) done({ outcome: 'ok', detail: 'closed' });
        else if (aborted) done({ outcome: 'aborted', detail: 'by the client' });
        else if (opened) done({ outcome: 'cut', detail: `closed ${code} after ${echoed} echoes` });
        else done({ outcome: 'unexpected', detail: `closed ${code} before the handshake ended` });
      });
      ws.on('error', (err: NodeJS.ErrnoException) => {
        if (aborted || settled) return;
        // After the handshake, an error is followed by 'close': classified there.
        if (!opened) done({ outcome: 'unexpected', detail: `handshake: ${err.code ?? err.message}` });
      });
      const deadline = setTimeout(() => {
        done({ outcome: 'unexpected', detail: `no end in ${OP_DEADLINE_MS} ms (opened: ${opened}, echoes: ${echoed})` });
        ws.terminate();
      }, OP_DEADLINE_MS);
      if (abort) setTimeout(() => { if (!opened) { aborted = true; ws.terminate(); } }, Math.random() * 20);
    });
  }

  /** One raw TCP connection to a route's port: an echo, then an end (waits for the close) or a destroy; `abort`: destroyed at once. */
  function tcpOp(t: TcpTarget, n: number, abort: boolean): Promise<Result> {
    return new Promise((resolve) => {
      let settled = false;
      let connected = false;
      let got = 0;
      let error: NodeJS.ErrnoException | undefined;
      const payload = Buffer.from(`${n} ${randomBytes(32).toString('hex')}\n`);
      const chunks: Buffer[] = [];
      const done = (r: Result) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        live.delete(socket);
        resolve(r);
      };
      const socket = net.connect({ host: '127.0.0.1', port: t.port });
      live.set(socket, () => socket.destroy());
      socket.on('error', (err: NodeJS.ErrnoException) => (error = err));
      socket.on('connect', () => {
        connected = true;
        if (abort) {
          socket.destroy();
          done({ outcome: 'aborted', detail: 'by the client' });
          return;
        }
        socket.write(payload);
      });
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got < payload.length) return;
        if (!Buffer.concat(chunks).equals(payload)) {
          socket.destroy();
          done({ outcome: 'unexpected', detail: `echo differs (${got} bytes)` });
        } else if (n % 2) {
          socket.destroy();
          done({ outcome: 'ok', detail: 'destroyed' });
        } else socket.end(); // the echo server ends its side in turn: 'close' below
      });
      socket.on('close', () => {
        if (got >= payload.length) done({ outcome: 'ok', detail: 'ended' });
        else if (!connected) {
          // A churned route's port closes when the route goes: a connection still in the
          // listener's accept queue then is reset by the kernel (ECONNRESET), one after it is
          // refused. Ports of the routes that stay never close: there, either is unexpected.
          const gone = error?.code === 'ECONNREFUSED' || (t.cls === 'churn' && error?.code === 'ECONNRESET');
          done(gone ? { outcome: 'refused', detail: error!.code! } : { outcome: 'unexpected', detail: `connect: ${error?.code ?? error?.message ?? 'closed'}` });
        }
        else if (got === 0) done({ outcome: 'refused', detail: `closed before any byte${error ? ` (${error.code})` : ''}` });
        else done({ outcome: 'cut', detail: `closed after ${got} bytes` });
      });
      const deadline = setTimeout(() => {
        done({ outcome: 'unexpected', detail: `no end in ${OP_DEADLINE_MS} ms (connected: ${connected}, ${got} bytes back)` });
        socket.destroy();
      }, OP_DEADLINE_MS);
    });
  }

  /** Half the operations go to the healthy app, the others in turn to a flapping, a dead and a churned one. */
  const downHttp = (n: number): HttpTarget => [flapWeb, deadWeb, churn.web ?? flapWeb][Math.floor(n / 2) % 3];
  const downTcp = (n: number): TcpTarget => [flapTcp, deadTcp, churn.tcp ?? flapTcp][Math.floor(n / 2) % 3];

  async function clientLoop(kind: 'http' | 'ws' | 'tcp', loop: number, running: () => boolean): Promise<void> {
    for (let n = loop; running(); n += LOOPS_PER_KIND) {
      // One operation in eight is abandoned by the client early: the gateway's abort paths too.
      const abort = n % 8 === 7;
      if (kind === 'tcp') {
        const t = n % 2 === 0 ? echo : downTcp(n);
        record(kind, t.cls, t.id, await tcpOp(t, n, abort));
      } else {
        const t = n % 2 === 0 ? web : downHttp(n);
        // HTTP: every other request on a keep-alive connection, the rest on a connection of its own.
        const r = kind === 'http' ? await httpOp(t, n % 4 < 2 ? keepAlive : false, abort) : await wsOp(t, n, abort);
        record(kind, t.cls, t.id, r);
      }
      await sleep(PAUSE_MS);
    }
  }

  /** Launches an app, lets clients use it, stops it (CLI or API) and removes it (API or CLI), over and over. */
  async function churnLoop(routing: 'https' | 'tcp', running: () => boolean): Promise<void> {
    for (let i = 0; running(); i++) {
      const name = `churn-${routing}-${i}`;
      let id: string | undefined;
      try {
        const view = await launch(name, 'stable', routing);
        id = view.id;
        routes.launched++;
        // An https app is a target from the start: clients meet it not routed yet (404) and
        // starting (503) too. A tcp app's gateway port is known once it is active; until then
        // clients keep meeting the previous one's closed port.
        if (routing === 'https') churn.web = await httpTarget('churn', view);
        const active = await stack.waitFor(view.id, 'active', 60_000);
        if (routing === 'tcp') churn.tcp = { cls: 'churn', id: view.id, port: tcpPort(active) };
        await routeAtGateway(view.id, true);
        routes.added++;
        await sleep(CHURN_LIFE_MS);
        // Stopped by the CLI or through the API, removed the other way.
        if (i % 2 === 0) {
          const out = await stack.cli(['stop', view.id]);
          if (out.code !== 0) throw new Error(`wharf stop exited ${out.code}: ${out.stderr}`);
        } else {
          const out = await stack.api('POST', `/api/v1/instances/${view.id}/stop`);
          if (out.status >= 300) throw new Error(`POST stop: ${out.status} ${JSON.stringify(out.json)}`);
        }
        await routeAtGateway(view.id, false);
        routes.removed++;
        await stack.waitFor(view.id, 'stopped', 30_000);
        routes.stopped++;
        if (i % 2 === 0) {
          const out = await stack.api('DELETE', `/api/v1/instances/${view.id}`);
          if (out.status >= 300) throw new Error(`DELETE: ${out.status} ${JSON.stringify(out.json)}`);
        } else {
          const out = await stack.cli(['rm', view.id]);
          if (out.code !== 0) throw new Error(`wharf rm exited ${out.code}: ${out.stderr}`);
        }
        id = undefined;
      } catch (err) {
        churnErrors.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
        await sleep(1_000);
      } finally {
        // Whatever happened, nothing churned outlives its turn (else the end state could not match the baseline).
        if (id) {
          await stack.api('POST', `/api/v1/instances/${id}/stop`).catch(() => undefined);
          await stack.waitFor(id, ['stopped', 'failed'], 30_000).catch(() => undefined);
        }
      }
    }
  }

  // ---- sampling --------------------------------------------------------------------------

  /**
   * One sample of every process still running, from one reading of /proc: fds, sockets, RSS,
   * then (after /proc, so that the scrape's own connection is not counted) heap used from its
   * /metrics. Each socket is put in words: `tcp STATE LOCAL→REMOTE` where an end is a listening
   * port by name, the Wharf process whose connection it is, or `*` (a client, an app); `unix
   * PATH`. A connection whose peer has gone but which the process never closed is CLOSE_WAIT.
   */
  async function sampleAll(): Promise<Map<string, Sample>> {
    const alive = watched.filter((w) => {
      if (w.alive()) return true;
      if (!deaths.includes(w.name)) deaths.push(w.name);
      return false;
    });
    const fds = new Map(alive.map((w) => [w.name, fdsOf(w.pid)]));
    const tcp = alive.length ? tcpTable(alive[0].pid) : new Map<string, TcpRow>();
    const owner = new Map<number, string>();
    for (const w of alive) for (const inode of fds.get(w.name)!.inodes) {
      const row = tcp.get(inode);
      if (row && row.state !== 'LISTEN' && !portNames.has(row.local)) owner.set(row.local, w.name);
    }
    const wharf = new Set([...watched.map((w) => w.name), ...portNames.values()]);
    const name = (port: number) => portNames.get(port) ?? owner.get(port) ?? '*';
    const out = new Map<string, Sample>();
    for (const w of alive) {
      const { fds: count, inodes } = fds.get(w.name)!;
      let links = 0;
      const described = inodes.map((inode) => {
        const row = tcp.get(inode);
        if (!row) return 'unix or other';
        const [a, b] = [name(row.local), name(row.remote)];
        if (row.state === 'ESTABLISHED' && wharf.has(a) && wharf.has(b)) links++;
        return `tcp ${row.state} ${a}→${b}`;
      }).sort();
      const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${w.pid}/status`, 'utf8'))?.[1]);
      out.set(w.name, { t: Date.now(), fds: count, sockets: inodes.length, links, rss: rssKb * 1024, heap: undefined, described });
    }
    for (const w of alive) {
      try {
        out.get(w.name)!.heap = sample(await w.metrics(), w.heapMetric);
      } catch { /* counted as missing; the growth check needs some */ }
    }
    return out;
  }

  let dispatcher: Dispatcher | undefined;

  beforeAll(async () => {
    // This file's own calls to control's API (fetch, through stack.api and stack.waitFor) close
    // their connections at once when idle: with fetch's default pool, control would count a
    // varying number of this test's idle connections as its own sockets for 72 s.
    dispatcher = getGlobalDispatcher();
    setGlobalDispatcher(new Agent({ keepAliveTimeout: 100, keepAliveMaxTimeout: 100 }));
    const built = await exec(new URL('../../images/build.sh', import.meta.url).pathname, ['node'], 300_000);
    if (built.code !== 0) throw new Error(`images/build.sh node failed (${built.code}):\n${built.stdout}${built.stderr}`);
    stack = await startStack();

    const agentMetrics = /metrics http:\/\/(\S+)\/metrics/.exec(stack.agentOutput())?.[1];
    if (!agentMetrics) throw new Error(`the agent did not say where its /metrics is:\n${stack.agentOutput()}`);
    const controlPort = Number(new URL(stack.url).port);
    const alive = (child: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => () => child.exitCode === null && child.signalCode === null;
    const agent = stack.agent!;
    watched.push(
      { name: 'gateway', pid: stack.gateway.child.pid!, alive: alive(stack.gateway.child), metrics: async () => (await plainGet(stack.gateway.adminPort, '/metrics')).body, heapMetric: 'wharf_gateway_nodejs_heap_size_used_bytes', samples: [] },
      { name: 'control', pid: stack.control.child.pid!, alive: alive(stack.control.child), metrics: async () => (await plainGet(controlPort, '/metrics')).body, heapMetric: 'wharf_control_nodejs_heap_size_used_bytes', samples: [] },
      { name: 'agent', pid: agent.child.pid!, alive: alive(agent.child), metrics: async () => (await plainGet(Number(agentMetrics.split(':').at(-1)), '/metrics')).body, heapMetric: 'wharf_agent_process_nodejs_heap_size_used_bytes', samples: [] },
    );

    portNames.set(controlPort, 'control').set(stack.gateway.httpsPort, 'gateway-https').set(stack.gateway.adminPort, 'gateway-admin').set(Number(agentMetrics.split(':').at(-1)), 'agent-metrics');

    const [vWeb, vFlapWeb, vDeadWeb, vEcho, vFlapTcp, vDeadTcp] = await Promise.all([
      launch('web', 'stable', 'https'), launch('flap-web', 'flap', 'https'), launch('dead-web', 'dead', 'https'),
      launch('echo', 'stable', 'tcp'), launch('flap-tcp', 'flap', 'tcp'), launch('dead-tcp', 'dead', 'tcp'),
    ]);
    const active = await Promise.all([vWeb, vFlapWeb, vDeadWeb, vEcho, vFlapTcp, vDeadTcp].map((v) => stack.waitFor(v.id, 'active', 60_000)));
    await Promise.all(active.map((v) => routeAtGateway(v.id, true)));
    [web, flapWeb, deadWeb] = await Promise.all([httpTarget('up', vWeb, 'ok web\n'), httpTarget('flap', vFlapWeb), httpTarget('dead', vDeadWeb)]);
    [echo, flapTcp, deadTcp] = [active[3], active[4], active[5]].map((v, i) => ({ cls: (['up', 'flap', 'dead'] as const)[i], id: v.id, port: tcpPort(v) }));

    // Warm-up: every path once (TLS, the upstream pools, lazily loaded code), and the dead
    // apps really dead (their server dies a second after the readiness probe).
    await until('the healthy apps answer through the gateway', async () =>
      (await httpOp(web, false, false)).outcome === 'ok' && (await wsOp(web, 0, false)).outcome === 'ok' && (await tcpOp(echo, 0, false)).outcome === 'ok', 20_000, 200);
    await until('the dead apps refuse', async () =>
      (await httpOp(deadWeb, false, false)).outcome === 'refused' && (await wsOp(deadWeb, 0, false)).outcome === 'refused' && (await tcpOp(deadTcp, 0, false)).outcome === 'refused', 20_000, 200);
    for (let n = 0; n < 6; n++) await Promise.all([httpOp(flapWeb, n % 2 ? keepAlive : false, false), wsOp(flapWeb, n, false), tcpOp(flapTcp, n, false), httpOp(web, keepAlive, false)]);
    keepAlive.destroy();
  }, 180_000);

  afterAll(async () => {
    for (const close of live.values()) close();
    keepAlive.destroy();
    // The summary for the report, also when an assertion failed.
    const line = (s: string) => console.error(`[soak-churn] ${s}`);
    if (watched.length) {
      line(`${churnSeconds.toFixed(0)} s of churn, ${watched[0].samples.length} samples every ${SAMPLE_S} s; routes: ${routes.launched} launched, ${routes.added} added at the gateway, ${routes.removed} removed, ${routes.stopped} stopped; gateway routes ${gatewayRoutes.before} → ${gatewayRoutes.after}`);
      for (const w of watched) {
        const peak = (k: 'fds' | 'sockets' | 'rss' | 'heap') => Math.max(...w.samples.map((s) => s[k] ?? 0));
        const b = w.baseline;
        const e = w.end;
        line(`${w.name.padEnd(7)} (pid ${w.pid}) baseline → peak → end: fds ${b?.fds} → ${peak('fds')} → ${e?.fds}; sockets ${b?.sockets} → ${peak('sockets')} → ${e?.sockets}; ` +
          `RSS ${mib(b?.rss)} → ${mib(peak('rss'))} → ${mib(e?.rss)} MiB; heap used ${mib(b?.heap)} → ${mib(peak('heap'))} → ${mib(e?.heap)} MiB`);
      }
      for (const w of watched) if (w.baseline && w.end) line(`${w.name.padEnd(7)} sockets at the end beside the baseline's: ${socketDiff(w.baseline.described, w.end.described)}`);
      for (const w of watched) line(`${w.name.padEnd(7)} samples (fds/sockets/RSS MiB/heap MiB): ${w.samples.map((s) => `${s.fds}/${s.sockets}/${mib(s.rss)}/${mib(s.heap)}`).join(' ')}`);
      const n = (k: string) => counts.get(k) ?? 0;
      const outcomes: Outcome[] = ['ok', 'refused', 'cut', 'aborted', 'unexpected'];
      const all = (o: Outcome) => [...counts].filter(([k]) => k.endsWith(` ${o}`)).reduce((a, [, v]) => a + v, 0);
      line(`operations: ${outcomes.reduce((a, o) => a + all(o), 0)} in all: ${all('ok')} ok, ${all('refused')} refused as expected, ${all('cut')} cut by a dying upstream, ${all('aborted')} abandoned by the client, ${all('unexpected')} unexpected`);
      for (const kind of ['http', 'ws', 'tcp']) {
        const parts = (['up', 'flap', 'dead', 'churn'] as const).map((cls) => {
          const why = [...counts].filter(([k]) => k.startsWith(`${kind} ${cls} refused: `)).map(([k, v]) => `${v}× ${k.slice(`${kind} ${cls} refused: `.length)}`);
          const got = outcomes.filter((o) => n(`${kind} ${cls} ${o}`)).map((o) => `${n(`${kind} ${cls} ${o}`)} ${o}${o === 'refused' ? ` (${why.join(', ')})` : ''}`);
          return `${cls}: ${got.join(', ') || 'none'}`;
        });
        line(`${kind.padEnd(4)} ${parts.join(' | ')}`);
      }
      line(`unexpected: ${unexpected.length ? unexpected.join(' | ') : 'none'}; churn errors: ${churnErrors.length ? churnErrors.join(' | ') : 'none'}; processes died: ${deaths.length ? deaths.join(', ') : 'none'}; connections the gateway still counts open at the end: ${Object.values(openAtEnd).reduce((a, n) => a + n, 0)} ${JSON.stringify(Object.fromEntries(Object.entries(openAtEnd).filter(([, n]) => n !== 0)))}`);
    }
    await stack?.stop();
    if (dispatcher) setGlobalDispatcher(dispatcher);
  }, 60_000);

  it('answers every client operation through route churn and failing upstreams, and keeps every process alive', async () => {
    // Baseline: at rest after the warm-up, once the keep-alive pools have idled out.
    await sleep(6_000);
    const base = await sampleAll();
    for (const w of watched) w.baseline = base.get(w.name);
    gatewayRoutes.before = sample((await plainGet(stack.gateway.adminPort, '/metrics')).body, 'wharf_gateway_routes') ?? NaN;

    let running = true;
    const isRunning = () => running;
    churnStartedAt = Date.now();
    const clients = (['http', 'ws', 'tcp'] as const).flatMap((kind) => Array.from({ length: LOOPS_PER_KIND }, (_, loop) => clientLoop(kind, loop, isRunning)));
    const churners = [churnLoop('https', isRunning), churnLoop('tcp', isRunning)];
    // The first sample one interval in, once the clients are under way; the last at the end of the churn.
    for (let next = churnStartedAt + SAMPLE_S * 1000; next <= churnStartedAt + CHURN_S * 1000; next += SAMPLE_S * 1000) {
      await sleep(Math.max(0, next - Date.now()));
      for (const [name, one] of await sampleAll()) watched.find((w) => w.name === name)!.samples.push(one);
    }
    await sleep(Math.max(0, churnStartedAt + CHURN_S * 1000 - Date.now()));
    running = false;
    await Promise.all(clients);
    await Promise.all(churners);
    churnSeconds = (Date.now() - churnStartedAt) / 1000;
    for (const close of live.values()) close();
    keepAlive.destroy();

    for (const kind of ['http', 'ws', 'tcp']) {
      expect(counts.get(`${kind} up ok`) ?? 0, `${kind} operations answered by the healthy app`).toBeGreaterThan(0);
      expect(counts.get(`${kind} dead refused`) ?? 0, `${kind} operations refused for the dead app`).toBeGreaterThan(0);
    }
    expect(unexpected, 'client operations without an answer or a clean refusal').toEqual([]);
    expect(churnErrors, 'launching, stopping and removing churned apps').toEqual([]);
    expect(routes.added, 'churned routes added at the gateway').toBeGreaterThanOrEqual(2);
    expect(routes.removed, 'churned routes removed at the gateway').toBe(routes.added);
    expect(deaths, 'processes that died during the churn').toEqual([]);
  }, (CHURN_S + 120) * 1000);

  it('brings fds and sockets back to their baseline once the churn stops and the clients are closed', async () => {
    // What must come back: fds that are not sockets, and sockets that are not connections
    // between Wharf's own processes, to the baseline + END_SLACK; those connections (keep-alive
    // pools, see the tolerances) to the baseline + LINK_SLACK. Polled: what is only in flight
    // (a Docker call, a heartbeat) is gone in the next sample, a leak never is.
    const over = (w: Watched, s: Sample) => {
      const b = w.baseline!;
      return s.fds - s.sockets > b.fds - b.sockets + END_SLACK || s.sockets - s.links > b.sockets - b.links + END_SLACK || s.links > b.links + LINK_SLACK;
    };
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const now = await sampleAll();
      for (const w of watched) w.end = now.get(w.name) ?? w.end;
      if (!watched.some((w) => !w.end || over(w, w.end)) || Date.now() > deadline) break;
      await sleep(1_000);
    }
    const text = (await plainGet(stack.gateway.adminPort, '/metrics')).body;
    gatewayRoutes.after = sample(text, 'wharf_gateway_routes') ?? NaN;
    // Per route and kind (http, ws, tcp): what the gateway still counts as open.
    openAtEnd = Object.fromEntries((await adminRoutes(stack.gateway.adminPort)).routes.flatMap((r) =>
      Object.entries(r.open as Record<string, number>).map(([kind, n]) => [`${r.id} ${kind}`, n])));

    expect(deaths, 'processes that died').toEqual([]);
    for (const w of watched) {
      const b = w.baseline!;
      const e = w.end!;
      const diff = `sockets beside the baseline's: ${socketDiff(b.described, e.described)}`;
      expect(e.fds - e.sockets, `${w.name}: fds other than sockets after the churn (baseline ${b.fds - b.sockets}, +${END_SLACK} allowed)`).toBeLessThanOrEqual(b.fds - b.sockets + END_SLACK);
      expect(e.sockets - e.links, `${w.name}: sockets after the churn, connections between Wharf's processes aside (baseline ${b.sockets - b.links}, +${END_SLACK} allowed); ${diff}`).toBeLessThanOrEqual(b.sockets - b.links + END_SLACK);
      expect(e.links, `${w.name}: connections to and from Wharf's other processes after the churn (baseline ${b.links}, +${LINK_SLACK} allowed); ${diff}`).toBeLessThanOrEqual(b.links + LINK_SLACK);
    }
    expect(gatewayRoutes.after, 'the gateway\'s route count is back to the long-lived apps').toBe(gatewayRoutes.before);
    // No connection is still counted open on any route once every client has gone.
    expect(Object.entries(openAtEnd).filter(([, n]) => n !== 0), 'routes with connections still counted open').toEqual([]);
  }, SETTLE_MS + 30_000);

  it('grows neither fds, sockets, RSS nor heap over the run', () => {
    for (const w of watched) {
      const third = Math.floor(w.samples.length / 3);
      expect(third, `${w.name}: samples (at least 3 needed; WHARF_CHURN_S ${CHURN_S} / WHARF_CHURN_SAMPLE_S ${SAMPLE_S})`).toBeGreaterThanOrEqual(1);
      const first = w.samples.slice(0, third);
      const last = w.samples.slice(-third);
      for (const k of ['fds', 'sockets'] as const) {
        const a = median(first.map((s) => s[k]));
        const b = median(last.map((s) => s[k]));
        expect(b, `${w.name}: median ${k} of the last third vs the first third (${a})`).toBeLessThanOrEqual(a + GROWTH_ABS + a * GROWTH_REL);
      }
      for (const [k, slack] of [['rss', 32 * MiB], ['heap', 16 * MiB]] as const) {
        const early = first.map((s) => s[k]).filter((x): x is number => x !== undefined);
        const late = last.map((s) => s[k]).filter((x): x is number => x !== undefined);
        expect(late.length, `${w.name}: ${k} samples`).toBeGreaterThan(0);
        const a = Math.max(...early);
        const b = median(late);
        expect(b, `${w.name}: median ${k} of the last third vs the highest of the first third (${mib(a)} MiB)`).toBeLessThanOrEqual(a * (1 + GROWTH_REL) + slack);
      }
    }
  });
});

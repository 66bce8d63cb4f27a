// The provider against control's real route stream handler over real loopback sockets.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { measureRouteLatency } from '../../control/routes/route-latency.ts';
import { RouteLog } from '../../control/routes/route-log.ts';
import { createRouteStreamHandler, type RouteStreamHandler, type SessionFeed } from '../../control/routes/route-stream-handler.ts';
import { createLogger } from '../../protocol/log.ts';
import { parseRoute, type Route } from '../../protocol/route.ts';
import { deltaLine, pingLine, sessionsLine, snapshotLine, type SessionState } from '../../protocol/route-stream.ts';
import { ControlProvider, type ControlProviderOptions, type StreamRouteError } from './control-provider.ts';
import { LastRoutes } from './last-routes.ts';
import type { RouteErrors } from './file-provider.ts';

const KEY = 'wharfgw_abc_s3cret';
const route = (id: string, port = 1): Route => parseRoute({ id, target: `http://127.0.0.1:${port}` });
const ids = (routes: Route[]) => routes.map((r) => r.id).sort();

/** A pino logger writing into an array, to check what the provider tells the operator. */
function memoryLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger('gateway', 'debug', sink), lines, at: (level: number) => lines.filter((l) => l.level === level) };
}
const WARN = 40;
const INFO = 30;
const ERROR = 50;

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function kill(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Control's route stream on a real port; `restart` kills it and listens again on the same port. */
async function control(routes: RouteLog, options: { pingIntervalMs?: number; authorize?: (req: IncomingMessage) => boolean; sessions?: SessionFeed } = {}) {
  const urls: string[] = [];
  let handler: RouteStreamHandler;
  let server: Server;
  const newHandler = () => createRouteStreamHandler({ routes: c.routes, pingIntervalMs: options.pingIntervalMs ?? 15_000, authorize: options.authorize ?? ((req) => req.headers.authorization === `Bearer ${KEY}`), sessions: options.sessions });
  const make = () => {
    handler = newHandler();
    return createServer((req, res) => {
      urls.push(req.url ?? '');
      void handler.handle(req, res);
    });
  };
  const c = {
    routes,
    urls,
    port: 0,
    url: () => `http://127.0.0.1:${c.port}`,
    stop: async () => {
      handler.close();
      await kill(server);
    },
    /** Control ends its open streams cleanly (as when it drops a slow gateway); new requests are served. */
    endStreams: () => {
      const old = handler;
      handler = newHandler();
      old.close();
    },
    /** Kills the server abruptly (no stream ends cleanly) and keeps the port closed while `meanwhile` runs. */
    restart: async (meanwhile: () => Promise<void> | void = () => {}) => {
      await kill(server);
      handler.close();
      await meanwhile();
      server = make();
      await listen(server, c.port);
    },
  };
  server = make();
  c.port = await listen(server);
  cleanups.push(() => c.stop());
  return c;
}

function provider(url: string, extra: Partial<ControlProviderOptions> = {}) {
  const mem = memoryLog();
  const p = new ControlProvider({ controlUrl: url, key: KEY, log: mem.log, backoff: { initialMs: 10, maxMs: 50 }, startTimeoutMs: 5_000, ...extra });
  cleanups.push(() => p.close());
  const applied: { routes: Route[]; errors: RouteErrors }[] = [];
  const start = () => p.start((routes, errors) => applied.push({ routes, errors }));
  return { p, mem, applied, start, last: () => applied[applied.length - 1] };
}

/** A stand-in for control's AppSessions: a state that `set` changes and announces. */
function sessionFeed(state: SessionState) {
  const listeners = new Set<(line: string) => void>();
  return {
    state: () => state,
    line: () => sessionsLine(state),
    subscribe(listener: (line: string) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next: SessionState) {
      state = next;
      for (const l of listeners) l(sessionsLine(state));
    },
  };
}

describe('ControlProvider', () => {
  it('hands on control\'s app sessions: with the snapshot before start() resolves, then each change, and after a resume', async () => {
    const key = 'k'.repeat(43);
    const feed = sessionFeed({ key, revoked: [] });
    const log = new RouteLog();
    log.upsert(route('a'));
    const c = await control(log, { sessions: feed });
    const events: string[] = [];
    const got: SessionState[] = [];
    const g = provider(c.url(), { onSessions: (state) => { events.push('sessions'); got.push(state); } });
    await g.p.start((routes) => events.push(`routes ${ids(routes).join(',')}`));
    expect(events).toEqual(['sessions', 'routes a']);
    expect(got[0]).toEqual({ key, revoked: [] });

    const revoked = [{ user: 'u-1', instance: '*', before: 1_767_225_600_000 }];
    feed.set({ key, revoked });
    await until('the change arrives', () => got.length === 2);
    expect(got[1]).toEqual({ key, revoked });

    // Away while another revocation comes: the resume brings the whole state again.
    const more = [...revoked, { user: 'u-2', instance: 'r1', before: 1_767_225_700_000 }];
    await c.restart(() => feed.set({ key, revoked: more }));
    await until('the resume brings the state', () => got.length === 3);
    expect(got[2]).toEqual({ key, revoked: more });
    expect(c.urls[1]).toContain('since=');
    // The key is a secret: never logged.
    expect(JSON.stringify(g.mem.lines)).not.toContain(key);
  });

  it('applies control\'s snapshot before start() resolves', async () => {
    const log = new RouteLog();
    log.replace([route('a'), route('b', 2)]);
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    expect(g.applied).toHaveLength(1);
    expect(g.applied[0]).toEqual({ routes: [route('a'), route('b', 2)], errors: [] });
    expect(g.p.version).toBe(log.version);
    expect(c.urls).toEqual(['/api/v1/gateways/routes']);
    expect(g.mem.at(INFO).some((l) => l.msg === 'routes from control loaded')).toBe(true);
    // The key is a secret: it is never logged.
    expect(JSON.stringify(g.mem.lines)).not.toContain('s3cret');
  });

  it('applies every delta in order onto its table', async () => {
    const log = new RouteLog();
    log.upsert(route('keep'));
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    for (let i = 0; i < 60; i++) {
      if (i % 3 === 2) log.remove(`r${i - 1}`);
      else log.upsert(route(`r${i}`, 1000 + i));
    }
    log.upsert(route('keep', 2));
    await until('the provider reaches control\'s version', () => g.p.version === log.version);
    expect(g.applied).toHaveLength(1 + log.version - 1);
    expect(g.last().routes).toEqual(expect.arrayContaining(log.snapshot().routes));
    expect(ids(g.last().routes)).toEqual(ids(log.snapshot().routes));
  });

  it('resumes from its version after control restarts, getting only the deltas it missed', async () => {
    const log = new RouteLog();
    log.upsert(route('a'));
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    const before = log.version;
    await c.restart(async () => {
      // Control is away: the gateway keeps serving and keeps trying, warning once.
      await until('the outage is noticed', () => g.mem.at(WARN).length > 0);
      await sleep(100);
      log.upsert(route('b'));
      log.remove('a');
    });
    await until('the provider catches up', () => g.p.version === log.version);
    expect(c.urls[1]).toBe(`/api/v1/gateways/routes?since=${before}&epoch=${log.epoch}`);
    // One apply per missed delta, no snapshot.
    expect(g.applied.map((a) => ids(a.routes))).toEqual([['a'], ['a', 'b'], ['b']]);
    expect(g.mem.at(WARN).filter((l) => /lost/.test(l.msg))).toHaveLength(1);
    await until('the return is logged', () => g.mem.at(INFO).some((l) => /back/.test(l.msg)));
  });

  it('resumes after control ends the stream by itself', async () => {
    const log = new RouteLog();
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    log.upsert(route('a'));
    await until('the delta arrives', () => g.p.version === 1);
    c.endStreams();
    log.upsert(route('b'));
    await until('the provider catches up', () => g.p.version === 2);
    expect(c.urls).toEqual(['/api/v1/gateways/routes', `/api/v1/gateways/routes?since=1&epoch=${log.epoch}`]);
    expect(g.applied.map((a) => ids(a.routes))).toEqual([[], ['a'], ['a', 'b']]);
  });

  it('takes a fresh snapshot when control no longer holds the deltas after its version', async () => {
    const log = new RouteLog({ capacity: 2 });
    log.upsert(route('a'));
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    await c.restart(() => {
      for (let i = 0; i < 5; i++) log.upsert(route(`r${i}`));
      log.remove('a');
    });
    await until('the provider catches up', () => g.p.version === log.version);
    expect(c.urls[c.urls.length - 1]).toContain('since=1&');
    expect(g.applied).toHaveLength(2); // the first snapshot, then a fresh one: no deltas
    expect(ids(g.last().routes)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('takes a fresh snapshot from a control that restarted with a new history', async () => {
    const first = new RouteLog();
    for (const id of ['a', 'b', 'c']) first.upsert(route(id));
    const c = await control(first);
    const g = provider(c.url());
    await g.start();
    const second = new RouteLog();
    second.upsert(route('z'));
    await c.restart(() => { c.routes = second; });
    await until('the new snapshot is applied', () => g.p.epoch === second.epoch);
    expect(g.p.version).toBe(1);
    expect(ids(g.last().routes)).toEqual(['z']);
    second.upsert(route('y'));
    await until('a delta of the new history applies', () => g.p.version === 2);
  });

  it('skips and reports a bad route of a delta while the others apply', async () => {
    const log = new RouteLog();
    log.replace([route('old'), route('keep')]);
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    // Control's routes are checked before they reach the log; this one pretends a bug (or a newer control).
    const bad = { ...route('old'), target: 'ftp://127.0.0.1:1' } as Route;
    log.change({ upsert: [route('n1'), bad, route('n2')] });
    await until('the delta is applied', () => g.p.version === log.version);
    expect(ids(g.last().routes)).toEqual(['keep', 'n1', 'n2']); // the old definition of "old" is taken down too
    const errors = g.last().errors as StreamRouteError[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'upsert[1].target', route: 'old', version: log.version });
    expect(g.mem.at(ERROR).some((l) => l.msg.startsWith('route refused') && l.route === 'old')).toBe(true);
    // A later good definition clears the error.
    log.upsert(route('old', 3));
    await until('the fix is applied', () => g.p.version === log.version);
    expect(ids(g.last().routes)).toEqual(['keep', 'n1', 'n2', 'old']);
    expect(g.last().errors).toEqual([]);
  });

  it('rejects start() with what to fix when control refuses the key', async () => {
    const c = await control(new RouteLog(), { authorize: () => false });
    const g = provider(c.url());
    const err = await g.start().then(() => { throw new Error('start() resolved'); }, (e: unknown) => e as Error & { code: string });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('GW_CONTROL_KEY_REFUSED');
    expect(err.message).toContain(`WHARF_GATEWAY_KEY is not accepted by control at ${c.url()}`);
    expect(err.message).not.toContain('s3cret');
    expect(g.applied).toHaveLength(0);
    expect(c.urls).toHaveLength(1); // no retrying a key that is refused
  });

  it('rejects start() when the URL is not control\'s route stream', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('not here'));
    const port = await listen(server);
    cleanups.push(() => kill(server));
    const err = await provider(`http://127.0.0.1:${port}`).start().then(() => { throw new Error('start() resolved'); }, (e: unknown) => e as Error & { code: string });
    expect(err.code).toBe('GW_CONTROL_NOT_A_STREAM');
    expect(err.message).toContain('WHARF_GATEWAY_CONTROL');
  });

  it('keeps the last table on disk; started while control is away, serves it until control sends a fresh one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-last-routes-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'gateway', 'control-routes.json');
    const log = new RouteLog();
    log.upsert(route('kept', 7));
    const feed = sessionFeed({ key: 'k'.repeat(43), revoked: [] });
    const c = await control(log, { sessions: feed });
    const first = provider(c.url(), { lastRoutes: new LastRoutes(file, memoryLog().log) });
    await first.start();
    first.p.close(); // writes what is pending
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const sessions: SessionState[] = [];
    let second: ReturnType<typeof provider> | undefined;
    await c.restart(async () => {
      log.upsert(route('new', 8));
      second = provider(c.url(), { lastRoutes: new LastRoutes(file, memoryLog().log), onSessions: (s) => sessions.push(s) });
      await second.start(); // control is down: from disk
      expect(ids(second.last().routes)).toEqual(['kept']);
      expect(sessions).toEqual([{ key: 'k'.repeat(43), revoked: [] }]);
      expect(second.mem.at(40).map((l) => l.msg)).toContain('control not reachable: serving the last routes it sent, kept on disk, until it answers');
    });
    // Control is back: its snapshot replaces the table from disk.
    await until('control\'s fresh snapshot', () => ids(second!.last().routes).join() === 'kept,new');
  });

  it('ignores a table on disk that is not valid, and waits for control as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-last-routes-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'control-routes.json');
    writeFileSync(file, JSON.stringify({ routes: [{ id: 'Bad Id', target: 'ftp://x' }], savedAt: 1 }));
    const server = createServer();
    const port = await listen(server);
    await kill(server);
    const g = provider(`http://127.0.0.1:${port}`, { startTimeoutMs: 300, lastRoutes: new LastRoutes(file, memoryLog().log) });
    const err = await g.start().then(() => { throw new Error('start() resolved'); }, (e: unknown) => e as Error & { code: string });
    expect(err.code).toBe('GW_CONTROL_UNREACHABLE');
  });

  it('rejects start() when control stays unreachable', async () => {
    const server = createServer();
    const port = await listen(server);
    await kill(server);
    const g = provider(`http://127.0.0.1:${port}`, { startTimeoutMs: 300 });
    const err = await g.start().then(() => { throw new Error('start() resolved'); }, (e: unknown) => e as Error & { code: string });
    expect(err.code).toBe('GW_CONTROL_UNREACHABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(g.mem.at(WARN).filter((l) => /not reachable/.test(l.msg))).toHaveLength(1);
  });

  it('stays on one stream while pings come, and reconnects when they stop', async () => {
    const log = new RouteLog();
    const c = await control(log, { pingIntervalMs: 20 });
    const g = provider(c.url(), { idleTimeoutMs: 250 });
    await g.start();
    await sleep(800);
    expect(c.urls).toHaveLength(1);
    expect(g.mem.at(WARN)).toHaveLength(0);

    const quiet = await control(log, { pingIntervalMs: 3_600_000 });
    const h = provider(quiet.url(), { idleTimeoutMs: 250 });
    await h.start();
    await until('a silent stream is given up and resumed', () => quiet.urls.length >= 2, 3_000);
    expect(quiet.urls[1]).toContain('since=0');
  });

  it('skips a malformed line, and starts over from a snapshot after a version gap', async () => {
    const routes = [route('a')];
    const urls: string[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      urls.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (urls.length === 1) {
        res.write(snapshotLine(1, 'e1', routes));
        res.write('{"type":"delta","vers\n');
        res.write(deltaLine(2, [route('b')], []));
        res.write(deltaLine(4, [route('c')], [])); // 3 is missing
      } else {
        res.write(snapshotLine(10, 'e1', [route('x')]));
        res.write(pingLine(10));
      }
    });
    const port = await listen(server);
    cleanups.push(() => kill(server));
    const g = provider(`http://127.0.0.1:${port}`);
    await g.start();
    await until('the fresh snapshot is applied', () => g.p.version === 10);
    expect(urls).toEqual(['/api/v1/gateways/routes', '/api/v1/gateways/routes']);
    expect(g.applied.map((a) => ids(a.routes))).toEqual([['a'], ['a', 'b'], ['x']]);
    expect(g.mem.at(ERROR).some((l) => /line refused/.test(l.msg))).toBe(true);
    expect(g.mem.at(WARN).some((l) => /out of step/.test(l.msg) && /missing/.test(String(l.reason)))).toBe(true);
  });

  it('keeps serving the last table while control is away', async () => {
    const log = new RouteLog();
    log.upsert(route('a'));
    const c = await control(log);
    const g = provider(c.url());
    await g.start();
    await c.stop();
    await until('the outage is noticed', () => g.mem.at(WARN).length > 0);
    await sleep(200);
    expect(g.applied).toHaveLength(1);
    expect(g.mem.at(WARN)).toHaveLength(1);
    expect(g.p.version).toBe(1);
  });
});

describe('measureRouteLatency', () => {
  it('measures from a route log change to the provider applying it', async () => {
    const result = await measureRouteLatency({
      connect: (controlUrl, key) => new ControlProvider({ controlUrl, key, log: memoryLog().log }),
      samples: 20,
      routes: 50,
      warmup: 2,
    });
    expect(result.routes).toBe(50);
    for (const s of [result.add, result.remove]) {
      expect(s.count).toBe(20);
      expect(s.min).toBeGreaterThanOrEqual(0);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
    }
  });
});

import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Route } from '../../protocol/route.ts';
import type { SessionState } from '../../protocol/route-stream.ts';
import { createAdminEntrypoint } from '../entrypoints/admin.ts';
import { checkSettings, createLinkClaims, createRouteProvider, createSessionCookies, tlsFiles } from '../gateway-sources.ts';
import type { GatewayAddresses } from '../gateway.ts';
import { createGatewayMetrics } from '../metrics/prometheus.ts';
import { StatsPusher } from '../metrics/stats-pusher.ts';
import { ControlProvider } from '../providers/control-provider.ts';
import type { RouteErrors } from '../providers/file-provider.ts';
import type { GatewaySettings } from '../settings.ts';
import { localCaps, type CapKind } from '../tcp/connection-caps.ts';
import { answer, type ToSupervisor, type ToWorker, type WorkerQuestion } from './messages.ts';
import { PortAssigner } from './port-assigner.ts';
import { send } from './send.ts';
import { WorkerFiguresTable } from './worker-figures.ts';

/** How long a new worker has to listen before a start or a roll gives up on it. */
const READY_TIMEOUT_MS = 30_000;
/** How long a collect of the workers' figures waits for a slow worker. */
const COLLECT_TIMEOUT_MS = 1_000;
/** A worker that dies this soon after starting waits RESTART_BACKOFF_MS before its replacement. */
const EARLY_DEATH_MS = 5_000;
const RESTART_BACKOFF_MS = 1_000;
const STATS_PUSH_EVERY_MS = 5_000;

export interface Supervisor {
  addresses: GatewayAddresses;
  workers(): number[];
  /** Replaces the workers one by one, each new one listening before the old one drains. */
  roll(): Promise<void>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  startedAt: number;
}

/**
 * `wharf gateway --workers N`: the supervisor. It owns what must exist once per gateway and
 * forks N workers (the same `wharf gateway` command) that serve the ports:
 *
 * - the listening sockets: workers listen through the cluster module with SCHED_NONE, so each
 *   port is one socket that this process holds and every worker accepts from. A worker that
 *   exits or is rolled takes nothing queued with it: the socket, and the connections waiting
 *   in it, stay (with `reusePort` each worker would have a queue of its own, reset when it
 *   closes, as `net.ipv4.tcp_migrate_req` is 0 here);
 * - the route feed (one route stream or routes-file watcher), fanned out as deltas; raw TCP
 *   routes get their port here (port-assigner.ts);
 * - one-time links, connection caps, TLS ticket keys, the admin port with the figures of all
 *   workers added up (worker-figures.ts), and the stats push to control.
 *
 * A worker that dies is replaced; SIGHUP rolls them (roll()).
 */
export async function startSupervisor(s: GatewaySettings, log: Logger): Promise<Supervisor> {
  checkSettings(s);
  // Made here, once, before any worker starts: N workers making the local CA, the gateway's
  // certificate or the cookie key at the same time would each write their own.
  tlsFiles(s);
  createSessionCookies(s);
  const ticketKeys = randomBytes(48).toString('base64');
  const links = createLinkClaims(s, log);
  const caps = localCaps(s);
  const figures = new WorkerFiguresTable();
  const ports = new PortAssigner(s.host, s.tcpPorts);
  /** Per worker id, the connections it holds by caps set and key, given back if it dies. */
  const held = new Map<number, Record<CapKind, Map<string, number>>>();
  const slots: Slot[] = [];
  let routes = new Map<string, Route>();
  let routeErrors: RouteErrors = [];
  let version = 0;
  let sessions: SessionState | null = null;
  let control: string | null = null;
  let stopping = false;
  let addresses: { https: string; http?: string } | undefined;

  const broadcast = (m: ToWorker) => {
    for (const { worker } of slots) send(worker, m);
  };

  /** Hands the workers what changed: routes by object identity (the providers keep unchanged ones). */
  const publish = async (next: Route[], errors: RouteErrors) => {
    const assigned = await ports.assign(next);
    const table = new Map(assigned.map((r) => [r.id, r]));
    const upsert = assigned.filter((r) => routes.get(r.id) !== r);
    const remove = [...routes.keys()].filter((id) => !table.has(id));
    routes = table;
    routeErrors = errors;
    figures.keepOnly(table);
    if (upsert.length || remove.length) version++;
    broadcast({ t: 'routes', upsert, remove, errors });
  };
  let feed = Promise.resolve();
  const provider = createRouteProvider(s, log, (state) => {
    sessions = state;
    broadcast({ t: 'sessions', state });
  }, (url) => {
    control = url;
    broadcast({ t: 'control', url });
  });
  await provider?.start((next, errors) => {
    feed = feed.then(() => publish(next, errors)).catch((err) => log.error({ err }, 'routes not handed to the workers'));
  });
  await feed;

  const onAsk = (worker: Worker, id: number, q: WorkerQuestion) => {
    const reply = (m: unknown) => send(worker, m as ToWorker);
    if (q.q === 'claim') return answer(reply, id, () => links.claim(q.jti, q.expS));
    answer(reply, id, () => {
      const ok = caps[q.caps].open(q.key);
      if (ok) {
        const mine = held.get(worker.id)![q.caps];
        mine.set(q.key, (mine.get(q.key) ?? 0) + 1);
      }
      return ok;
    });
  };

  const onCapsClose = (worker: Worker, kind: CapKind, key: string) => {
    const mine = held.get(worker.id)?.[kind];
    const n = mine?.get(key);
    if (!mine || n === undefined) return;
    if (n <= 1) mine.delete(key);
    else mine.set(key, n - 1);
    caps[kind].close(key);
  };

  /** Forks a worker into `slot` and resolves once it listens. */
  const fork = (index: number): Promise<Worker> => {
    const worker = cluster.fork();
    held.set(worker.id, { clients: new Map(), tcp: new Map() });
    const slot = { worker, startedAt: Date.now() };
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new Error(`gateway worker ${worker.id} did not listen within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      worker.on('error', (err) => log.warn({ worker: worker.id, err: err.message }, 'gateway worker channel error'));
      worker.on('message', (m: ToSupervisor) => {
        switch (m.t) {
          case 'hello':
            send(worker, { t: 'init', routes: [...routes.values()], errors: routeErrors, sessions, ticketKeys, control });
            break;
          case 'ready':
            clearTimeout(timer);
            addresses ??= { https: m.https, ...(m.http ? { http: m.http } : {}) };
            // The new worker serves from now on; the one it replaces (if any) may drain.
            slots[index] = slot;
            resolve(worker);
            break;
          case 'ask':
            onAsk(worker, m.id, m.q);
            break;
          case 'caps-close':
            onCapsClose(worker, m.caps, m.key);
            break;
          case 'figures':
            figures.take(worker.id, m.id, m.figures);
            break;
        }
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`gateway worker ${worker.id} exited before it listened (${signal ?? code})`));
        const gone = held.get(worker.id);
        for (const kind of ['clients', 'tcp'] as const) for (const [key, n] of gone?.[kind] ?? []) for (let i = 0; i < n; i++) caps[kind].close(key);
        held.delete(worker.id);
        figures.retire(worker.id);
        if (stopping || slots[index] !== slot) return; // stopped, or replaced by a roll
        const early = Date.now() - slot.startedAt < EARLY_DEATH_MS;
        log.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
        setTimeout(() => {
          if (!stopping && slots[index] === slot) replace(index).catch((err) => log.error({ err: err.message }, 'gateway worker not replaced'));
        }, early ? RESTART_BACKOFF_MS : 0).unref();
      });
    });
  };

  /** Per slot, the fork under way: a restart and a roll never start two workers for one slot. */
  const pending = new Map<number, Promise<Worker>>();
  const replace = (index: number): Promise<Worker> => {
    let next = pending.get(index);
    if (!next) {
      next = fork(index).finally(() => pending.delete(index));
      pending.set(index, next);
    }
    return next;
  };

  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2) });
  try {
    await Promise.all(Array.from({ length: s.workers }, (_, i) => replace(i)));
  } catch (err) {
    stopping = true;
    for (const { worker } of slots) worker?.process.kill('SIGKILL');
    provider?.close();
    links.close();
    throw err;
  }
  const httpsPort = Number(addresses!.https.slice(addresses!.https.lastIndexOf(':') + 1));
  if (provider instanceof ControlProvider) provider.setPublicUrl(s.publicUrl ?? `https://localhost:${httpsPort}/`);

  /** Asks every worker for its figures and waits (at most COLLECT_TIMEOUT_MS) for them. */
  const refresh = () => figures.collect(slots.map((slot) => slot.worker).filter((w) => w.isConnected()), COLLECT_TIMEOUT_MS);
  const metrics = createGatewayMetrics(() => figures.stats(), () => routes.size);
  const admin = createAdminEntrypoint({
    refresh,
    table: () => ({ version, size: routes.size, entries: () => [...routes.values()].map((route) => ({ route, stats: figures.get(route.id) })) }),
    metrics,
    routeErrors: () => routeErrors,
    tcpPorts: () => figures.tcpPorts(),
  });
  await admin.listen({ port: s.adminPort, host: s.adminHost });
  const a = admin.server.address() as AddressInfo;

  const pusher = s.control
    ? new StatsPusher({ control: s.control, key: s.key!, stats: () => figures.stats(), onError: (err, dropped) => log.warn({ err: err.message, dropped }, 'stats push to control failed') })
    : undefined;
  const pushTimer = pusher ? setInterval(() => void refresh().then(() => pusher.tick()), STATS_PUSH_EVERY_MS).unref() : undefined;

  let rolling: Promise<void> | undefined;
  return {
    addresses: { ...addresses!, admin: `${a.address}:${a.port}` },
    workers: () => slots.map((slot) => slot.worker.process.pid!),
    roll: () => (rolling ??= (async () => {
      try {
        for (let i = 0; i < slots.length && !stopping; i++) {
          // A restart under way finishes first: the worker that replaces `old` is forked now.
          await pending.get(i)?.catch(() => undefined);
          const old = slots[i].worker;
          await replace(i);
          if (!old.isDead()) send(old, { t: 'drain', graceMs: s.drainGraceMs });
          log.info({ old: old.process.pid, new: slots[i].worker.process.pid }, 'gateway worker replaced');
        }
      } finally {
        rolling = undefined;
      }
    })()),
    async close() {
      stopping = true;
      clearInterval(pushTimer);
      const exits = slots.map(({ worker }) => new Promise<void>((resolve) => {
        if (worker.isDead()) return resolve();
        worker.once('exit', () => resolve());
        worker.process.kill('SIGTERM');
      }));
      await Promise.all(exits);
      await refresh().catch(() => {});
      await pusher?.tick();
      await pusher?.stop();
      provider?.close();
      links.close();
      await admin.close();
    },
  };
}


import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { routeOf } from '../../control/agents/endpoint-routes.ts';
import { followOtherControls } from '../../control/follow-other-controls.ts';
import { AppSessions } from '../../control/keys/app-sessions.ts';
import { ConsoleSessions } from '../../control/keys/console-sessions.ts';
import { SharedRouteLog } from '../../control/routes/shared-route-log.ts';
import { openPostgresStore } from '../../control/store/postgres/open.ts';
import { openSqliteStore } from '../../control/store/sqlite/open.ts';
import type { Store } from '../../control/store/store.ts';
import { TEST_SCRYPT_COST, testConfig, testSpec } from '../../control/store/testing.ts';
import { startControlProcess } from '../../test/support/control-process.ts';
import { startPostgres, type Postgres } from '../../test/support/postgres.ts';
import { envLines, freePort, runWharf, spawnCollect, until, WHARF, type Running } from '../../test/support/tcp.ts';
import { formatMs, formatRps } from '../format.ts';
import { adopt } from '../support/children.ts';
import type { BenchContext } from './context.ts';
import { BUSYBOX_LAUNCH, launchSamples } from './launch.ts';
import { runRoutePropagation, type EndToEndPropagationCase } from './route-propagation.ts';

/*
 * Issue 17's bench: what several controls on PostgreSQL cost and buy.
 * - Launch → active (busybox https app, image present) with one control on SQLite, one on
 *   PostgreSQL, and three on PostgreSQL (launches spread over them, the agent given all three).
 * - Store operations per second, one at a time as a control does them: leases, and route
 *   changes (an endpoint written, and on PostgreSQL announced to the other controls).
 * - Route propagation between controls: a route change in one control's route log → the
 *   same route in another's (NOTIFY, the other control reading the instance back).
 */

export interface HaLaunchCase {
  name: string;
  controls: number;
  store: 'SQLite' | 'PostgreSQL';
  samples: number;
  p50: number;
  p95: number;
  max: number;
  failures: number;
}

export interface HaStoreOps {
  store: 'SQLite' | 'PostgreSQL';
  /** Operations timed per kind. */
  operations: number;
  leasesPerS: number;
  routeChangesPerS: number;
}

export interface HaResult {
  launch: HaLaunchCase[];
  ops: HaStoreOps[];
  /** Control A's route log → control B's, ms. */
  crossControl: { samples: number; p50: number; p95: number; p99: number; max: number };
  /** End to end: an agent's endpoint POST to control A → a gateway fed by control B serves the route. */
  crossControlEndToEnd: EndToEndPropagationCase;
}

const LABEL = 'wharf.bench=ha';
const POLL_MS = 5;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

export async function runHa(ctx: Pick<BenchContext, 'durationS' | 'log' | 'work'>): Promise<HaResult> {
  const postgres = await startPostgres();
  try {
    const launch: HaLaunchCase[] = [];
    for (const c of [{ controls: 1, store: 'SQLite' }, { controls: 1, store: 'PostgreSQL' }, { controls: 3, store: 'PostgreSQL' }] as const) {
      launch.push(await launchCase(ctx, postgres, c.controls, c.store));
    }
    const operations = ctx.durationS >= 5 ? 500 : 50;
    const ops = [await storeOps(ctx, 'SQLite', postgres, operations), await storeOps(ctx, 'PostgreSQL', postgres, operations)];
    const crossControl = await crossControlPropagation(ctx, postgres, ctx.durationS >= 5 ? 300 : 30);
    // 1,000 routes as in the single-control case; the smoke run (1 s cases) preloads 100.
    const [crossControlEndToEnd] = await runRoutePropagation(ctx, [ctx.durationS < 5 ? 100 : 1_000], { store: await postgres.createDatabase() });
    return { launch, ops, crossControl, crossControlEndToEnd };
  } finally {
    await postgres.destroy();
  }
}

/** Real processes: N controls on the store, one `wharf agent` given all of them; launches through each in turn. */
async function launchCase(ctx: Pick<BenchContext, 'durationS' | 'log' | 'work'>, postgres: Postgres, controls: number, store: 'SQLite' | 'PostgreSQL'): Promise<HaLaunchCase> {
  const name = `${controls} control${controls > 1 ? 's' : ''}, ${store}`;
  const storeEnv = store === 'PostgreSQL' ? { WHARF_STORE: await postgres.createDatabase() } : {};
  const homes = Array.from({ length: controls }, (_, i) => ctx.work.sub(`ha-${store}-${controls}-${i}`));
  const env = (home: string) => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', ...storeEnv });
  const running: Running[] = [];
  let agent: Running | undefined;
  try {
    for (const home of homes) {
      const control = await startControlProcess(env(home), ['--log-level', 'warn', '--listen', `127.0.0.1:${await freePort()}`]);
      adopt(control.child);
      running.push(control);
    }
    const urls = homes.map((h) => (JSON.parse(readFileSync(join(h, 'run', 'control.json'), 'utf8')) as { url: string }).url);
    const token = readFileSync(join(homes[0], 'admin.token'), 'utf8').trim();
    const added = await runWharf(['agents', 'add', 'bench', '--queues', 'bench'], env(homes[0]));
    if (added.code !== 0) throw new Error(`wharf agents add: ${added.stderr}`);
    agent = spawnCollect(process.execPath, [WHARF, 'agent', '--metrics-listen', 'off', '--log-level', 'warn'], {
      ...env(homes[0]), ...envLines(added.stdout), WHARF_CONTROL_URL: urls.join(','), WHARF_LABELS: LABEL, WHARF_STOP_TIMEOUT_S: '1', WHARF_HEARTBEAT_S: '0.5',
    });
    adopt(agent.child);
    const api = async (url: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    const samples = launchSamples(ctx.durationS);
    const total: number[] = [];
    let failures = 0;
    for (let i = 0; i < samples + 1; i++) {
      const url = urls[i % urls.length];
      const t0 = performance.now();
      const { id } = await api(url, 'POST', '/instances', BUSYBOX_LAUNCH.config);
      let status = '';
      await until(`instance ${id} leaves queued/starting`, async () => {
        status = (await api(url, 'GET', `/instances/${id}`)).status;
        return status !== 'queued' && status !== 'starting';
      }, 60_000, POLL_MS);
      const ms = performance.now() - t0;
      await api(url, 'POST', `/instances/${id}/stop`);
      await until(`instance ${id} stops`, async () => (await api(url, 'GET', `/instances/${id}`)).status === 'stopped', 30_000, 50);
      if (status !== 'active') failures++;
      else if (i > 0) total.push(ms); // the first one warms up
    }
    total.sort((a, b) => a - b);
    const result = { name, controls, store, samples: total.length, p50: quantile(total, 0.5), p95: quantile(total, 0.95), max: total.at(-1)!, failures };
    ctx.log(`  launch → active, ${name}: p50 ${formatMs(result.p50)} p95 ${formatMs(result.p95)} max ${formatMs(result.max)} over ${result.samples} (${failures} failed)`);
    return result;
  } finally {
    await agent?.stop();
    await Promise.all(running.map((c) => c.stop()));
    try {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
      if (ids) execFileSync('docker', ['rm', '-f', '-v', ...ids.split('\n')], { stdio: 'ignore' });
    } catch { /* nothing to remove */ }
  }
}

async function openBenchStore(ctx: Pick<BenchContext, 'work'>, kind: 'SQLite' | 'PostgreSQL', postgres: Postgres): Promise<Store> {
  const options = { clock: Date.now, scryptCost: TEST_SCRYPT_COST };
  return kind === 'PostgreSQL'
    ? openPostgresStore({ url: await postgres.createDatabase(), ...options })
    : openSqliteStore({ file: join(ctx.work.sub(`ha-ops-${Date.now()}`), 'wharf.db'), ...options });
}

/** Leases, then route changes, each one at a time as a control's request does them. */
async function storeOps(ctx: Pick<BenchContext, 'log' | 'work'>, kind: 'SQLite' | 'PostgreSQL', postgres: Postgres, operations: number): Promise<HaStoreOps> {
  const store = await openBenchStore(ctx, kind, postgres);
  try {
    const owner = await store.users.add({ name: 'bench', password: 'x' });
    const { agent } = await store.agents.add({ name: 'bench', queues: ['default'] });
    const ids: string[] = [];
    for (let i = 0; i < operations; i++) ids.push((await store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() })).id);
    let t0 = performance.now();
    for (let i = 0; i < operations; i++) await store.jobs.lease(agent.id, ['default'], 600_000, Date.now());
    const leasesPerS = operations / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (const [i, id] of ids.entries()) {
      const stored = await store.instances.setEndpoint(id, { host: '10.0.0.2', port: 10_000 + i, routing: 'https', containerPort: 8080 }, { agent: agent.id });
      // Several controls serve the store's route table (shared-route-log.ts); one alone keeps it in memory.
      if (kind === 'PostgreSQL') await store.routeTable.apply({ upsert: [routeOf(stored)!] });
      await store.changes.publish({ kind: 'routes', instances: [id] });
    }
    const routeChangesPerS = operations / ((performance.now() - t0) / 1000);
    ctx.log(`  store operations, ${kind}: ${formatRps(leasesPerS)} leases/s, ${formatRps(routeChangesPerS)} route changes/s (${operations} each, one at a time)`);
    return { store: kind, operations, leasesPerS, routeChangesPerS };
  } finally {
    await store.close();
  }
}

/** Two controls' route logs on one PostgreSQL: a route changed in A's → the same in B's. */
async function crossControlPropagation(ctx: Pick<BenchContext, 'log'>, postgres: Postgres, samples: number): Promise<HaResult['crossControl']> {
  const url = await postgres.createDatabase();
  const log = pino({ level: 'silent' });
  const controls = [];
  for (let i = 0; i < 2; i++) {
    const store = await openPostgresStore({ url, clock: Date.now, scryptCost: TEST_SCRYPT_COST });
    const routes = await SharedRouteLog.open(store.routeTable, store.changes, log);
    const appSessions = new AppSessions(store, Buffer.alloc(32, 1));
    const stop = followOtherControls({ store, routes, appSessions, consoleSessions: new ConsoleSessions(Buffer.alloc(32, 2), Date.now), log, resyncEveryMs: 3_600_000 });
    controls.push({ store, routes, stop });
  }
  const [a, b] = controls;
  try {
    const owner = await a.store.users.add({ name: 'bench', password: 'x' });
    const { agent } = await a.store.agents.add({ name: 'bench', queues: ['default'] });
    const times: number[] = [];
    for (let i = 0; i < samples + 10; i++) {
      const instance = await a.store.instances.create({ owner: owner.id, config: testConfig(), spec: testSpec() });
      await a.store.jobs.lease(agent.id, ['default'], 600_000, Date.now());
      const stored = await a.store.instances.setEndpoint(instance.id, { host: '10.0.0.2', port: 10_000 + i, routing: 'https', containerPort: 8080 }, { agent: agent.id });
      const arrived = new Promise<number>((resolve) => {
        const unsubscribe = b.routes.subscribe((delta) => {
          if (!delta.upsert.some((r) => r.id === instance.id)) return;
          unsubscribe();
          resolve(performance.now());
        });
      });
      const t0 = performance.now();
      a.routes.upsert(routeOf(stored)!);
      const ms = (await arrived) - t0;
      if (i >= 10) times.push(ms); // the first ten warm up
    }
    times.sort((x, y) => x - y);
    const result = { samples: times.length, p50: quantile(times, 0.5), p95: quantile(times, 0.95), p99: quantile(times, 0.99), max: times.at(-1)! };
    ctx.log(`  route change between controls: p50 ${formatMs(result.p50)} p95 ${formatMs(result.p95)} p99 ${formatMs(result.p99)} max ${formatMs(result.max)} over ${result.samples}`);
    return result;
  } finally {
    for (const c of controls) {
      c.stop();
      await c.store.close();
    }
  }
}

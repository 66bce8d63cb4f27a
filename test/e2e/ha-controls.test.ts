import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { docker } from '../support/stack.ts';
import { envLines, freePort, runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

const CONTROLS = 3;
// `npm test`: 20 launches and two kills. `npm run soak` sets 200 launches and a kill every 20 s.
const LAUNCHES = Number(process.env.WHARF_HA_LAUNCHES ?? 20);
const KILL_EVERY_MS = Number(process.env.WHARF_HA_KILL_EVERY_S ?? 0) * 1000;
/** Kill a control before launch `n`: at a quarter and at three fifths of the launches, or every KILL_EVERY_MS. */
const killBefore = (n: number, sinceLastKillMs: number) =>
  KILL_EVERY_MS > 0 ? sinceLastKillMs >= KILL_EVERY_MS : n === Math.floor(LAUNCHES / 4) || n === Math.floor((LAUNCHES * 3) / 5);

/*
 * High availability, end to end (issue 17's bar): three `wharf control` processes on one
 * PostgreSQL, two gateways and two agents (on this machine's one Docker Engine) given every
 * control, and the CLI too. 20 launches while a control is killed with SIGKILL twice (200 and
 * one kill every 20 s in `npm run soak`), each control in turn, started again on its port 2 s
 * later: every instance ends `active`, with exactly one container on the Docker Engine, routed by
 * both gateways; the CLI and the gateways' main hosts keep answering through the controls that are up.
 */
describe('three controls, two gateways, two agents: launches through control kills', () => {
  let postgres: Postgres;
  let store = '';
  const homes: string[] = [];
  const ports: number[] = [];
  const controls: (Running | undefined)[] = [];
  const gateways: GatewayProcess[] = [];
  const agents: Running[] = [];
  const label = `wharf.test=ha-${randomBytes(4).toString('hex')}`;
  const urls = () => ports.map((p) => `http://127.0.0.1:${p}`);
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: homes[0], WHARF_URL: urls().join(','), WHARF_TOKEN: '', WHARF_STORE: store, ...extra });
  const ok = async (args: string[]) => {
    const r = await runWharf(args, env());
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const startControl = async (i: number) => {
    // A short idle window: the idle case below stops apps within the test.
    controls[i] = await startControlProcess(env({ WHARF_HOME: homes[i], WHARF_URL: '' }), ['--listen', `127.0.0.1:${ports[i]}`, '--lease-timeout', '10', '--idle-window', '5', '--idle-warning', '0']);
  };
  const kill = async (i: number) => {
    controls[i]!.child.kill('SIGKILL');
    await controls[i]!.exited;
  };

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await postgres.createDatabase();
    for (let i = 0; i < CONTROLS; i++) {
      homes.push(mkdtempSync(join(tmpdir(), `wharf-ha-${i}-`)));
      ports.push(await freePort());
    }
    for (let i = 0; i < CONTROLS; i++) await startControl(i);
    const gw = envLines(await ok(['gateways', 'add', 'edge']));
    // Each part lists the controls in its own order, so that they spread over them.
    const order = (k: number) => urls().map((_, i, all) => all[(i + k) % all.length]).join(',');
    gateways.push(await startGateway({ env: { ...gw, WHARF_GATEWAY_CONTROL: order(0) } }));
    gateways.push(await startGateway({ env: { ...gw, WHARF_GATEWAY_CONTROL: order(1) }, args: ['--workers', '2'] }));
    for (let k = 0; k < 2; k++) {
      const credentials = envLines(await ok(['agents', 'add', `a${k}`]));
      const agent = spawnCollect(process.execPath, [WHARF, 'agent', '--metrics-listen', '127.0.0.1:0'], {
        ...process.env, WHARF_HOME: mkdtempSync(join(tmpdir(), `wharf-ha-agent-${k}-`)), ...credentials, WHARF_CONTROL_URL: order(k + 1),
        WHARF_LABELS: label, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '2', WHARF_MAX_APPS: String(LAUNCHES + 5), WHARF_SAMPLE_INTERVAL_S: '1',
      });
      agents.push(agent);
      await until(`agent ${k} takes jobs`, () => /taking jobs/.test(agent.stderr()) || agent.child.exitCode !== null, 20_000);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(controls.map((c) => c?.stop()));
    const ids = (await docker('ps', '-aq', '--filter', `label=${label}`)).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await docker('rm', '-f', '-v', ...ids);
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('ends with every instance running once, on one container, routed by both gateways', async () => {
    const started = Date.now();
    const cfg = join(homes[0], 'web.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'web', image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    const ids: string[] = [];
    let kills = 0;
    let lastKill = Date.now();
    for (let n = 0; n < LAUNCHES; n++) {
      // Each kill while launches are still coming and earlier ones are starting.
      if (killBefore(n, Date.now() - lastKill)) {
        const victim = kills++ % CONTROLS;
        lastKill = Date.now();
        await kill(victim);
        ids.push((await ok(['launch', '-f', cfg])).trim()); // through the controls that are up
        await sleep(2_000);
        await startControl(victim);
        continue;
      }
      ids.push((await ok(['launch', '-f', cfg])).trim());
    }
    expect(new Set(ids).size).toBe(LAUNCHES);
    expect(kills).toBeGreaterThanOrEqual(2);
    console.log(`ha-controls: ${LAUNCHES} launches, ${kills} controls killed, in ${Math.round((Date.now() - started) / 1000)} s`);

    const statuses = async () => new Map((JSON.parse(await ok(['ls', '--json'])) as { id: string; status: string; statusReason: string | null }[]).map((i) => [i.id, i]));
    // Running: `active`, or `idle` once quiet for the (short) idle window.
    await until('every instance is running', async () => {
      const all = await statuses();
      return ids.every((id) => ['active', 'idle'].includes(all.get(id)?.status ?? ''));
    }, 180_000 + LAUNCHES * 1_000, 1_000).catch(async (err) => {
      const all = await statuses();
      throw new Error(`${(err as Error).message}: ${JSON.stringify(ids.map((id) => all.get(id)))}`);
    });

    // Exactly one container per instance on the Docker Engine: none was started twice.
    const listed = (await docker('ps', '-a', '--filter', `label=${label}`, '--filter', 'label=wharf.type=application', '--format', '{{.Label "wharf.instance"}}')).stdout.trim().split('\n').filter(Boolean);
    expect(listed.sort()).toEqual([...ids].sort());

    // Both gateways route every one of them.
    await until('both gateways route every instance', async () => {
      for (const gateway of gateways) {
        const { routes } = JSON.parse((await plainGet(gateway.adminPort, '/routes')).body) as { routes: { id: string; target?: string }[] };
        const routed = new Set(routes.filter((r) => r.target !== undefined).map((r) => r.id));
        if (!ids.every((id) => routed.has(id))) return false;
      }
      return true;
    }, 30_000 + LAUNCHES * 100, 500);
    // The dashboard's host answers through every gateway.
    for (const gateway of gateways) expect((await request(gateway.httpsPort, { host: 'localhost', path: '/healthz', ca: gateway.ca })).status).toBe(200);
  }, 300_000 + LAUNCHES * 5_000);

  it('stops idle apps once each, by the control that holds the idle lock, and hands that work on within 15 s when it is killed', async () => {
    const cfg = join(homes[0], 'idle.json');
    // Idle for 18 s (after the 5 s window): stopped.
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'sleepy', image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 }, idle: { maxHours: 0.005 } }));
    const sleepy: string[] = [];
    for (let i = 0; i < 3; i++) sleepy.push((await ok(['launch', '-f', cfg])).trim());
    const view = async (id: string) => JSON.parse(await ok(['show', id, '--json'])) as { status: string; idleSeconds: number | null };
    const status = async (id: string) => (await view(id)).status;
    await until('the idle apps are idle', async () => (await Promise.all(sleepy.map(status))).every((s) => s === 'idle'), 60_000, 250);
    // When each is due to stop: 18 s of quiet, of which idleSeconds have passed.
    const due = new Map<string, number>();
    for (const id of sleepy) due.set(id, Date.now() + (18 - ((await view(id)).idleSeconds ?? 0)) * 1000);

    // The control holding the idle monitor's lock: PostgreSQL knows, by the connection's name.
    const client = new pg.Client(store);
    await client.connect();
    const key = createHash('sha256').update('wharf:idle-monitor').digest().readBigInt64BE(0);
    const holder = await client.query<{ name: string }>(
      `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = $1`, [BigInt.asUintN(64, key).toString()]);
    await client.end();
    const pid = Number(/pid (\d+)/.exec(holder.rows[0]?.name ?? '')?.[1]);
    const victim = controls.findIndex((c) => c?.child.pid === pid);
    expect(victim, `lock holder ${holder.rows[0]?.name}`).toBeGreaterThanOrEqual(0);
    const killedAt = Date.now();
    await kill(victim);

    // Each is stopped by the control that takes the lock on: no later than 15 s after it was due.
    const stoppedAt = new Map<string, number>();
    await until('every idle app is stopping or stopped', async () => {
      for (const id of sleepy) if (!stoppedAt.has(id) && ['stopping', 'stopped'].includes(await status(id))) stoppedAt.set(id, Date.now());
      return stoppedAt.size === sleepy.length;
    }, 90_000, 250);
    for (const id of sleepy) expect(stoppedAt.get(id)! - Math.max(due.get(id)!, killedAt), id).toBeLessThan(15_000);
    await until('every idle app is stopped', async () => (await Promise.all(sleepy.map(status))).every((s) => s === 'stopped'), 60_000, 500);
    for (const id of sleepy) {
      const lines = await ok(['logs', id]);
      expect(lines.match(/idle limit reached: idle for/g), `${id}: ${lines}`).toHaveLength(1);
    }
    await startControl(victim);
  }, 180_000);
});

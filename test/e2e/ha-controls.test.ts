import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { docker } from '../support/stack.ts';
import { envLines, freePort, runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

const CONTROLS = 3;
const LAUNCHES = 20;

/*
 * High availability, end to end (issue 17's bar, the `npm test` size): three `wharf control`
 * processes on one PostgreSQL, two gateways and two agents (on this machine's one Docker
 * Engine) given every control, and the CLI too. 20 launches while a control is killed with
 * SIGKILL twice (and started again on its port): every instance ends `active`, with exactly one
 * container on the Docker Engine, routed by both gateways; the CLI and the gateways' main
 * hosts keep answering through the controls that are up.
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
    controls[i] = await startControlProcess(env({ WHARF_HOME: homes[i], WHARF_URL: '' }), ['--listen', `127.0.0.1:${ports[i]}`, '--lease-timeout', '10']);
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
        WHARF_LABELS: label, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '2', WHARF_MAX_APPS: String(LAUNCHES),
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

  it('ends with every instance active once, on one container, routed by both gateways', async () => {
    const cfg = join(homes[0], 'web.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'web', image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    const ids: string[] = [];
    for (let n = 0; n < LAUNCHES; n++) {
      // Two kills, each while launches are still coming and earlier ones are starting.
      if (n === 5 || n === 12) {
        const victim = n === 5 ? 0 : 1;
        await kill(victim);
        ids.push((await ok(['launch', '-f', cfg])).trim()); // through the controls that are up
        await sleep(2_000);
        await startControl(victim);
        continue;
      }
      ids.push((await ok(['launch', '-f', cfg])).trim());
    }
    expect(new Set(ids).size).toBe(LAUNCHES);

    const statuses = async () => new Map((JSON.parse(await ok(['ls', '--json'])) as { id: string; status: string; statusReason: string | null }[]).map((i) => [i.id, i]));
    await until('every instance is active', async () => {
      const all = await statuses();
      return ids.every((id) => all.get(id)?.status === 'active');
    }, 180_000, 1_000).catch(async (err) => {
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
    }, 30_000, 500);
    // The dashboard's host answers through every gateway.
    for (const gateway of gateways) expect((await request(gateway.httpsPort, { host: 'localhost', path: '/healthz', ca: gateway.ca })).status).toBe(200);
  }, 300_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { docker } from '../support/stack.ts';
import { envLines, runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

// Two real controls on one PostgreSQL; a real agent on the Docker Engine and the CLI each given
// both URLs; a gateway following the second control. Control 0 is killed with SIGKILL: the CLI
// and the agent carry on through control 1, and an app launched then runs and is routed.
describe('the CLI and an agent given two controls carry on when one dies', () => {
  let postgres: Postgres;
  const homes: string[] = [];
  const controls: Running[] = [];
  let gateway: GatewayProcess | undefined;
  let agent: Running | undefined;
  const label = `wharf.test=failover-${randomBytes(4).toString('hex')}`;
  let store = '';
  let both = '';
  const url = (i: number) => (JSON.parse(readFileSync(join(homes[i], 'run', 'control.json'), 'utf8')) as { url: string }).url;
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: homes[0], WHARF_URL: both, WHARF_TOKEN: '', WHARF_STORE: store, ...extra });
  const ok = async (args: string[]) => {
    const r = await runWharf(args, env());
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const status = async (id: string) => (JSON.parse(await ok(['ls', '--json'])) as { id: string; status: string }[]).find((i) => i.id === id)?.status;
  const routed = async (id: string) => ((JSON.parse((await plainGet(gateway!.adminPort, '/routes')).body) as { routes: { id: string; target?: string }[] }).routes)
    .some((r) => r.id === id && r.target !== undefined);
  const launch = async (name: string) => {
    const cfg = join(homes[0], `${name}.json`);
    writeFileSync(cfg, JSON.stringify({ app: 'container', name, image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    return (await ok(['launch', '-f', cfg])).trim();
  };

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) homes.push(mkdtempSync(join(tmpdir(), `wharf-failover-${i}-`)));
    controls.push(await startControlProcess(env({ WHARF_HOME: homes[0], WHARF_URL: '' })));
    controls.push(await startControlProcess(env({ WHARF_HOME: homes[1], WHARF_URL: '' })));
    // Control 0 is listed first, and will be the one to die.
    both = `${url(0)},${url(1)}`;
    const gw = envLines(await ok(['gateways', 'add', 'edge']));
    gateway = await startGateway({ env: { ...gw, WHARF_GATEWAY_CONTROL: url(1) } });
    const credentials = envLines(await ok(['agents', 'add', 'a1']));
    agent = spawnCollect(process.execPath, [WHARF, 'agent', '--metrics-listen', '127.0.0.1:0'], {
      ...process.env, WHARF_HOME: mkdtempSync(join(tmpdir(), 'wharf-failover-agent-')), ...credentials, WHARF_CONTROL_URL: both,
      WHARF_LABELS: label, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '2',
    });
    await until('the agent takes jobs', () => /taking jobs/.test(agent!.stderr()) || agent!.child.exitCode !== null, 20_000);
    expect(agent.stderr()).toContain(`taking jobs from ${both}`);
  }, 90_000);
  afterAll(async () => {
    await agent?.stop();
    await gateway?.stop();
    await Promise.all(controls.map((c) => c.stop()));
    const ids = (await docker('ps', '-aq', '--filter', `label=${label}`)).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await docker('rm', '-f', '-v', ...ids);
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('runs an app launched through control 0 and routes it on the gateway of control 1', async () => {
    const id = await launch('before');
    await until('the app is active', async () => (await status(id)) === 'active', 60_000, 250);
    await until('the gateway routes it', () => routed(id), 10_000);
  }, 90_000);

  it('after control 0 is killed: the CLI answers through control 1, and a new app runs and is routed', async () => {
    controls[0].child.kill('SIGKILL');
    await controls[0].exited;
    expect(await freePortIsClosed(url(0))).toBe(true);
    const id = await launch('after');
    await until('the app launched after the kill is active', async () => (await status(id)) === 'active', 60_000, 250);
    await until('the gateway routes it', () => routed(id), 10_000);
    expect(await ok(['stop', id])).toContain(id);
  }, 120_000);
});

/** True when nothing answers at the URL's port any more. */
async function freePortIsClosed(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

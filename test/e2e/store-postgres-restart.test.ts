import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { envLines, runWharf, until, type Running } from '../support/tcp.ts';

// PostgreSQL itself restarted under two running controls (and a gateway following one of
// them): nothing exits, requests meanwhile fail with a clear error, and within 30 s of
// PostgreSQL being back everything works again by itself, route changes across controls included.
describe('PostgreSQL restarted under running controls', () => {
  let postgres: Postgres;
  const homes: string[] = [];
  const controls: Running[] = [];
  let gateway: GatewayProcess | undefined;
  let store = '';
  const url = (i: number) => (JSON.parse(readFileSync(join(homes[i], 'run', 'control.json'), 'utf8')) as { url: string }).url;
  const env = (i: number) => ({ ...process.env, WHARF_HOME: homes[i], WHARF_URL: '', WHARF_TOKEN: '', WHARF_STORE: store });
  const ok = async (i: number, args: string[]) => {
    const r = await runWharf(args, env(i));
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const target = async (id: string) => ((JSON.parse((await plainGet(gateway!.adminPort, '/routes')).body) as { routes: { id: string; target?: string }[] }).routes)
    .find((r) => r.id === id)?.target;
  let agentCall: (path: string, body?: unknown) => Promise<Response>;

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) homes.push(mkdtempSync(join(tmpdir(), `wharf-pg-restart-${i}-`)));
    for (let i = 0; i < 2; i++) controls.push(await startControlProcess(env(i)));
    gateway = await startGateway({ env: { ...envLines(await ok(0, ['gateways', 'add', 'edge'])), WHARF_GATEWAY_CONTROL: url(1) } });
    const agent = JSON.parse(await ok(0, ['agents', 'add', 'a1', '--json'])) as { key: string; secret: string };
    const authorization = `Bearer ${agent.key}:${agent.secret}`;
    agentCall = (path, body) => fetch(`${url(0)}/api/v1/agent/${path}`, body === undefined
      ? { method: 'POST', headers: { authorization } }
      : { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(controls.map((c) => c.stop()));
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('keeps every process up while it is down, and works again within 30 s of its return', async () => {
    const cfg = join(homes[0], 'web.json');
    writeFileSync(cfg, JSON.stringify({ app: 'container', name: 'web', image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    const id = (await ok(0, ['launch', '-f', cfg])).trim();
    expect((await agentCall('lease?wait=0')).status).toBe(200);
    expect((await agentCall(`instances/${id}/endpoint`, { host: '127.0.0.1', port: 18080 })).status).toBe(200);
    await until('the gateway on control 1 has the route', async () => (await target(id)) === 'http://127.0.0.1:18080', 10_000);

    await postgres.stop();
    const down = await runWharf(['ls'], env(0));
    expect(down.code).not.toBe(0);
    expect(down.stderr).not.toMatch(/\n\s+at /); // one line, no stack
    expect(down.stderr).toContain('CTL_STORE_UNREACHABLE');
    // The gateway keeps serving its last routes.
    expect(await target(id)).toBe('http://127.0.0.1:18080');

    await postgres.start();
    const back = Date.now();
    for (const i of [0, 1]) {
      await until(`control ${i} answers again`, async () => (await runWharf(['ls', '--json'], env(i))).code === 0, 30_000, 250);
    }
    // A route change made through control 0 now reaches the gateway following control 1.
    await until('an endpoint report is taken again', async () => (await agentCall(`instances/${id}/endpoint`, { host: '127.0.0.2', port: 18080 })).status === 200, 30_000, 250);
    await until('the gateway on control 1 has the new target', async () => (await target(id)) === 'http://127.0.0.2:18080', 30_000);
    expect(Date.now() - back).toBeLessThan(30_000);
    for (const c of controls) expect(c.child.exitCode).toBeNull();
    expect(gateway!.child.exitCode).toBeNull();
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, issueCertificate } from '../../certs/authority.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { plainGet, request } from '../support/https-client.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { docker } from '../support/stack.ts';
import { envLines, runWharf, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

// Two real controls on one PostgreSQL, serving HTTPS with certificates of one CA (--tls-cert,
// --tls-key), which every client trusts through NODE_EXTRA_CA_CERTS; a real agent on the Docker
// Engine, the CLI and two gateways (one process; a supervisor with two workers) each given both
// https:// URLs, control 0 first. Control 0 is killed with SIGKILL: everything carries on through
// control 1, an app launched then runs and is routed by both gateways, and their main hosts reach control 1.
describe('the CLI, an agent and gateways given two controls over HTTPS carry on when one dies', () => {
  let postgres: Postgres;
  const homes: string[] = [];
  const controls: Running[] = [];
  const gateways: GatewayProcess[] = [];
  let agent: Running | undefined;
  const label = `wharf.test=failover-${randomBytes(4).toString('hex')}`;
  let store = '';
  let both = '';
  let tls: NodeJS.ProcessEnv = {};
  let ca = '';
  const url = (i: number) => (JSON.parse(readFileSync(join(homes[i], 'run', 'control.json'), 'utf8')) as { url: string }).url;
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, WHARF_HOME: homes[0], WHARF_URL: both, WHARF_TOKEN: '', WHARF_STORE: store, ...tls, ...extra });
  const ok = async (args: string[]) => {
    const r = await runWharf(args, env());
    expect(r.code, `wharf ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const status = async (id: string) => (JSON.parse(await ok(['ls', '--json'])) as { id: string; status: string }[]).find((i) => i.id === id)?.status;
  const routed = async (id: string) => {
    for (const gateway of gateways) {
      const { routes } = JSON.parse((await plainGet(gateway.adminPort, '/routes')).body) as { routes: { id: string; target?: string }[] };
      if (!routes.some((r) => r.id === id && r.target !== undefined)) return false;
    }
    return true;
  };
  /** The gateway's main host, which is control's: its /healthz. */
  const mainHost = (gateway: GatewayProcess) => request(gateway.httpsPort, { host: 'localhost', path: '/healthz', ca: gateway.ca });
  const launch = async (name: string) => {
    const cfg = join(homes[0], `${name}.json`);
    writeFileSync(cfg, JSON.stringify({ app: 'container', name, image: 'wharf/busybox:local', command: 'httpd -f -p 8080', routing: { mode: 'https', port: 8080 } }));
    return (await ok(['launch', '-f', cfg])).trim();
  };

  beforeAll(async () => {
    postgres = await startPostgres();
    store = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) homes.push(mkdtempSync(join(tmpdir(), `wharf-failover-${i}-`)));
    // One CA for both controls' certificates, as an operator's own would be.
    const authority = createAuthority('failover test CA');
    const pair = issueCertificate(authority, { names: ['127.0.0.1', 'localhost'] });
    const file = (name: string, text: string) => (writeFileSync(join(homes[0], name), text, { mode: 0o600 }), join(homes[0], name));
    ca = authority.cert;
    tls = { WHARF_CONTROL_TLS_CERT: file('control.pem', pair.cert), WHARF_CONTROL_TLS_KEY: file('control-key.pem', pair.key), NODE_EXTRA_CA_CERTS: file('ca.pem', ca) };
    controls.push(await startControlProcess(env({ WHARF_HOME: homes[0], WHARF_URL: '' })));
    controls.push(await startControlProcess(env({ WHARF_HOME: homes[1], WHARF_URL: '' })));
    // Control 0 is listed first, and will be the one to die.
    both = `${url(0)},${url(1)}`;
    const gw = envLines(await ok(['gateways', 'add', 'edge']));
    gateways.push(await startGateway({ env: { ...gw, ...tls, WHARF_GATEWAY_CONTROL: both } }));
    gateways.push(await startGateway({ env: { ...gw, ...tls, WHARF_GATEWAY_CONTROL: both }, args: ['--workers', '2'] }));
    const credentials = envLines(await ok(['agents', 'add', 'a1']));
    agent = spawnCollect(process.execPath, [WHARF, 'agent', '--metrics-listen', '127.0.0.1:0'], {
      ...process.env, ...tls, WHARF_HOME: mkdtempSync(join(tmpdir(), 'wharf-failover-agent-')), ...credentials, WHARF_CONTROL_URL: both,
      WHARF_LABELS: label, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '2',
    });
    await until('the agent takes jobs', () => /taking jobs/.test(agent!.stderr()) || agent!.child.exitCode !== null, 20_000);
    expect(agent.stderr()).toContain(`taking jobs from ${both}`);
  }, 90_000);
  afterAll(async () => {
    await agent?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(controls.map((c) => c.stop()));
    const ids = (await docker('ps', '-aq', '--filter', `label=${label}`)).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await docker('rm', '-f', '-v', ...ids);
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('serves HTTPS on both controls, with the certificate given', async () => {
    const dispatcher = new Agent({ connect: { ca } });
    for (const i of [0, 1]) {
      expect(url(i)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await undiciRequest(`${url(i)}/healthz`, { dispatcher });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    await dispatcher.close();
    // Not trusted without the CA: nothing talks to a control it cannot verify.
    await expect(fetch(`${url(0)}/healthz`)).rejects.toThrow();
  });

  it('runs an app launched through control 0, routed by both gateways', async () => {
    const id = await launch('before');
    await until('the app is active', async () => (await status(id)) === 'active', 60_000, 250);
    await until('the gateways route it', () => routed(id), 10_000);
    for (const gateway of gateways) expect((await mainHost(gateway)).status).toBe(200);
  }, 90_000);

  it('after control 0 is killed: the CLI answers through control 1, a new app runs, both gateways route it and reach control 1', async () => {
    const logged = gateways.map((g) => g.output().length);
    controls[0].child.kill('SIGKILL');
    await controls[0].exited;
    expect(await freePortIsClosed(url(0))).toBe(true);
    const id = await launch('after');
    await until('the app launched after the kill is active', async () => (await status(id)) === 'active', 60_000, 250);
    await until('both gateways route it', () => routed(id), 20_000);
    // Route versions are the database's: each gateway (each worker) resumed on control 1 from
    // the version it had on control 0, and took no snapshot there.
    for (const [k, gateway] of gateways.entries()) {
      const since = gateway.output().slice(logged[k]);
      expect(since).toContain('route stream moved to another control');
      expect(since).toMatch(/route stream from control back \(resumed at version \d+\)/);
      expect(since).not.toContain('fresh snapshot');
    }
    // Their main hosts are proxied to the control that is left (every worker's too).
    for (const gateway of gateways) {
      for (let i = 0; i < 6; i++) {
        const res = await mainHost(gateway);
        expect(res.status, res.body).toBe(200);
        expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
      }
    }
    expect(await ok(['stop', id])).toContain(id);
  }, 120_000);
});

/** True when nothing accepts connections at the URL's port any more. */
function freePortIsClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
}

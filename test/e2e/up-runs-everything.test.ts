import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/https-client.ts';
import { runWharf, until, type Running } from '../support/tcp.ts';
import { portOf, startUp, type UpRun } from '../support/up-process.ts';

/*
 * `wharf up` as a real process on the real Docker Engine: control, gateway and agent in one
 * process. The example config launches and answers through the gateway with its browser link;
 * the main host serves control; SIGTERM leaves the app running and a second `wharf up` on the
 * same WHARF_HOME adopts it.
 */

const LABEL = `wharf.test=up-${process.pid}`;
const EXAMPLE = new URL('../../examples/busybox-https.json', import.meta.url).pathname;

describe('wharf up', () => {
  let home: string;
  let up: Running | undefined;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', WHARF_LABELS: LABEL, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '1' });
  const wharf = async (...args: string[]) => {
    const r = await runWharf(args, env());
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const start = async (): Promise<UpRun> => {
    const started = await startUp(env());
    up = started.up;
    return started.run;
  };
  const status = async (id: string) => JSON.parse(await wharf('show', id, '--json')).status as string;

  /** Follows a one-time browser link as a browser would: 303 with the app cookie, then the page. */
  const openInBrowser = async (link: string, ca: string) => {
    const url = new URL(link);
    const port = Number(url.port);
    const first = await request(port, { host: url.host, path: url.pathname + url.search, ca, headers: { accept: 'text/html' } });
    expect(first.status).toBe(303);
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    return request(port, { host: url.host, path: first.headers.location!, ca, headers: { cookie, accept: 'text/html' } });
  };

  beforeAll(() => {
    execFileSync(new URL('../../images/build.sh', import.meta.url).pathname, ['busybox'], { stdio: 'pipe' });
    home = mkdtempSync(join(tmpdir(), 'wharf-up-'));
  }, 120_000);
  afterAll(async () => {
    await up?.stop();
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
    if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')], { stdio: 'ignore' });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('runs control behind the gateway\'s main host and an agent that launches the example app', async () => {
    const run = await start();
    expect(run.agent).toMatch(/^a-/);
    expect(run.publicUrl).toBe(`https://localhost:${portOf(run.gateway.https)}/`);
    expect(up!.stderr()).toContain(`dashboard ${run.publicUrl}`);
    expect(up!.stderr()).toContain(join(home, 'admin.token'));
    expect(up!.stderr()).toContain(`launch -f ${EXAMPLE}`);
    expect(statSync(join(home, 'up.json')).mode & 0o777).toBe(0o600);
    const ca = readFileSync(join(home, 'certs', 'ca.pem'), 'utf8');
    // The main host is control: its health and its sign-in page, through the gateway.
    const health = await request(portOf(run.gateway.https), { host: `localhost:${portOf(run.gateway.https)}`, path: '/healthz', ca });
    expect(health.status).toBe(200);

    const id = await wharf('launch', '-f', EXAMPLE);
    await until('the app is active', async () => (await status(id)) === 'active', 30_000, 100);
    const page = await openInBrowser(await wharf('open', id), ca);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Hello from Wharf');
  }, 90_000);

  it('leaves the app running on SIGTERM, and a second wharf up adopts it', async () => {
    const id = JSON.parse(await wharf('ls', '--json'))[0].id as string;
    expect(await up!.stop()).toBe(0);
    const running = execFileSync('docker', ['ps', '-q', '--filter', `label=wharf.instance=${id}`], { encoding: 'utf8' }).trim();
    expect(running).not.toBe('');

    const run = await start();
    const ca = readFileSync(join(home, 'certs', 'ca.pem'), 'utf8');
    await until('the adopted app is served again', async () => {
      if ((await status(id)) !== 'active') return false;
      const link = await wharf('open', id);
      return (await openInBrowser(link, ca)).body.includes('Hello from Wharf');
    }, 30_000, 200);
    expect(new URL(await wharf('open', id)).port).toBe(String(portOf(run.gateway.https)));
    expect(JSON.parse(await wharf('agents', 'ls', '--json'))).toHaveLength(1); // the same agent, not a new one

    await wharf('stop', id);
    await until('the app stops', async () => (await status(id)) === 'stopped', 30_000, 100);
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=wharf.instance=${id}`], { encoding: 'utf8' }).trim()).toBe('');
  }, 90_000);
});

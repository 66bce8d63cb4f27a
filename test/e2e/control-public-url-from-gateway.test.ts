import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { envLines, runWharf, until, type Running } from '../support/tcp.ts';

/*
 * Real processes: `wharf control` without WHARF_PUBLIC_URL, then a `wharf gateway` fed by it on
 * a random HTTPS port. Control adopts the public URL the gateway reports on its route stream
 * (DESIGN.md "Settings"): instance links, browser links and the Origin check use that port; a
 * second gateway reporting another URL changes nothing (the first one wins).
 */
describe('control takes its public URL from the first gateway that connects', () => {
  let home: string;
  let control: Running | undefined;
  const gateways: GatewayProcess[] = [];
  let url: string;
  let adminToken: string;
  let id: string;
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', WHARF_PUBLIC_URL: '' });

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${adminToken}` }) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  };
  const show = async () => {
    const shown = await runWharf(['show', id, '--json'], env());
    expect(shown.code, shown.stderr).toBe(0);
    return JSON.parse(shown.stdout) as { links: { https: string; endpoint: string } };
  };
  const addGateway = async (name: string, args: string[] = []) => {
    const added = await runWharf(['gateways', 'add', name], env());
    expect(added.code, added.stderr).toBe(0);
    const gwEnv = envLines(added.stdout);
    const gw = await startGateway({ env: { ...gwEnv, WHARF_PUBLIC_URL: '' }, args });
    gateways.push(gw);
    return gw;
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-public-url-e2e-'));
    control = await startControlProcess(env());
    url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    adminToken = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const launched = await api('POST', '/api/v1/instances', { app: 'container', image: 'wharf/busybox:local', queue: 'e2e-public-url', routing: { mode: 'https', port: 8080 } });
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    id = launched.json.id as string;
  }, 60_000);
  afterAll(async () => {
    for (const gw of gateways) await gw.stop();
    await control?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('uses the default public URL until a gateway connects', async () => {
    expect((await show()).links.https).toBe(`https://${id}.apps.localhost:8443/`);
  });

  it('adopts the bound HTTPS port of the first gateway: wharf show, GET /instances/:id, wharf open', async () => {
    const gw = await addGateway('g1');
    expect(gw.httpsPort).not.toBe(8443);
    const base = `https://${id}.apps.localhost:${gw.httpsPort}/`;
    await until('control adopts the gateway\'s public URL', async () => (await show()).links.https === base, 10_000);
    expect((await show()).links).toMatchObject({ https: base, endpoint: base });
    const got = await api('GET', `/api/v1/instances/${id}`);
    expect(got.json.links).toMatchObject({ https: base, endpoint: base });
    const open = await runWharf(['open', id], env());
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout.trim().startsWith(`${base}?wharf_token=`)).toBe(true);
  });

  it('checks Origin against the adopted public URL', async () => {
    const password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    const port = gateways[0].httpsPort;
    const login = (origin: string) => api('POST', '/api/v1/auth/login', { name: 'admin', password }, { origin });
    expect((await login('https://localhost:8443')).headers.get('x-wharf-error')).toBe('CTL_BAD_ORIGIN');
    expect((await login(`https://localhost:${port}`)).status).toBe(200);
  });

  it('keeps the first gateway\'s URL when a second one reports another', async () => {
    const first = `https://${id}.apps.localhost:${gateways[0].httpsPort}/`;
    const second = await addGateway('g2', ['--public-url', 'https://elsewhere.test:9443/']);
    // The second gateway's stream is open once it serves; its report came with the request.
    expect(second.httpsPort).toBeGreaterThan(0);
    expect((await show()).links.https).toBe(first);
  });
});

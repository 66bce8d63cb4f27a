import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { callControl } from '../support/control-api.ts';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { envLines, freePort, runWharf, until, type Running } from '../support/tcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * Faults (issue 19): `kill -9` of the gateway while clients hold a WebSocket and a download.
 * Started again (same home, same port), it serves the same routes from its first request,
 * with no manual step: from control's route stream, or from its routes file; and, when control
 * is away too, from the last table control sent, which the gateway keeps on disk.
 */
describe('a gateway killed with SIGKILL and started again', () => {
  let home: string;
  let control: Running | undefined;
  let upstream: Upstream;
  const gateways: GatewayProcess[] = [];
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-fault-gw-'));
    // /download: 64 KiB every 50 ms for a minute, a download still going when the gateway dies.
    upstream = await startUpstream((req, res) => {
      if (req.url !== '/download') return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 50);
      setTimeout(() => { clearInterval(timer); res.end(); }, 60_000).unref();
      res.on('close', () => clearInterval(timer));
      return true;
    });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    for (const gw of gateways) await gw.stop();
    await control?.stop();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** A WebSocket and a download through the gateway, both going; then SIGKILL; both end. */
  const killUnderLoad = async (gw: GatewayProcess, host: string, headers: Record<string, string>) => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/ws`, { headers: { host, ...headers }, servername: host.split(':')[0], ca: gw.ca } as WebSocket.ClientOptions);
    sockets.push(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    let downloaded = 0;
    const download = new Promise<void>((resolve) => {
      const req = https.request({ host: '127.0.0.1', port: gw.httpsPort, path: '/download', servername: host.split(':')[0], ca: gw.ca, headers: { host, ...headers }, agent: false }, (res) => {
        res.on('data', (c: Buffer) => { downloaded += c.length; });
        res.on('close', resolve);
        res.on('error', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
    await until('the download is under way', () => downloaded > 256 * 1024, 10_000);
    gw.child.kill('SIGKILL');
    await until('the WebSocket is closed', () => ws.readyState === WebSocket.CLOSED, 5_000);
    await download;
    expect(downloaded).toBeLessThan(64 * 1024 * 1200); // cut short, not finished
  };

  it('fed by control: serves the same app from its first request after the restart', async () => {
    control = await startControlProcess({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' }, ['--public-url', 'https://localhost:8443/']);
    const url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    const admin = `Bearer ${readFileSync(join(home, 'admin.token'), 'utf8').trim()}`;
    const env = { ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' };
    const gwEnv = envLines((await runWharf(['gateways', 'add', 'g1'], env)).stdout);
    const agent = envLines((await runWharf(['agents', 'add', 'a1', '--queues', 'fault'], env)).stdout);
    const agentAuth = `Bearer ${agent.WHARF_AGENT_KEY}:${agent.WHARF_AGENT_SECRET}`;
    const launched = await callControl(url, 'POST', '/api/v1/instances', { app: 'container', image: 'wharf/busybox:local', queue: 'fault', routing: { mode: 'https', port: 8080 } }, admin);
    const id = launched.json.id as string;
    await callControl(url, 'POST', '/api/v1/agent/heartbeat', {}, agentAuth);
    expect((await callControl(url, 'POST', '/api/v1/agent/lease?wait=2000', undefined, agentAuth)).json).toMatchObject({ instance: id });
    expect((await callControl(url, 'POST', `/api/v1/agent/instances/${id}/endpoint`, { host: '127.0.0.1', port: upstream.port }, agentAuth)).status).toBe(200);
    const token = (await callControl(url, 'POST', `/api/v1/instances/${id}/token`, {}, admin)).json.token as string;

    const gwHome = mkdtempSync(join(tmpdir(), 'wharf-fault-gw-home-'));
    const port = await freePort();
    const start = async () => {
      const gw = await startGateway({ env: gwEnv, home: gwHome, args: ['--https-port', String(port)] });
      gateways.push(gw);
      return gw;
    };
    const host = `${id}.apps.localhost`;
    const auth = { authorization: `Bearer ${token}` };
    const get = (gw: GatewayProcess) => request(gw.httpsPort, { host, ca: gw.ca, path: '/before-and-after', headers: { accept: 'application/json', ...auth } });
    const first = await start();
    await until('the gateway serves the app', async () => (await get(first)).status === 200, 10_000);
    await killUnderLoad(first, host, auth);

    const again = await start();
    const answer = await get(again); // the first request, no retry
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body).url).toBe('/before-and-after');

    // Control away as well: an app cookie (its key came from control) still opens the app
    // through a gateway started meanwhile, from the table it kept (0600: it holds that key).
    const link = new URL((await callControl(url, 'POST', `/api/v1/instances/${id}/token`, {}, admin)).json.link as string);
    const exchanged = await request(again.httpsPort, { host, ca: again.ca, path: link.pathname + link.search, headers: { accept: 'text/html' } });
    const cookie = [exchanged.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-wharf_session='))!.split(';')[0];
    const withCookie = (gw: GatewayProcess) => request(gw.httpsPort, { host, ca: gw.ca, path: '/control-away', headers: { accept: 'application/json', cookie } });
    expect((await withCookie(again)).status).toBe(200);
    const kept = join(gwHome, 'gateway', 'control-routes.json');
    await until('the gateway keeps the table on disk', () => existsSync(kept), 5_000);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    await control!.stop();
    again.child.kill('SIGKILL');
    await new Promise((r) => again.child.once('exit', r));
    const alone = await start();
    const served = await withCookie(alone);
    expect(served.status, served.body).toBe(200);
    expect(JSON.parse(served.body).url).toBe('/control-away');
    expect(alone.output()).toContain('serving the last routes it sent');
    rmSync(gwHome, { recursive: true, force: true });
  }, 60_000);

  it('on a routes file: serves the same route from its first request after the restart', async () => {
    const gwHome = mkdtempSync(join(tmpdir(), 'wharf-fault-gw-file-'));
    const routes = join(gwHome, 'routes.json');
    writeFileSync(routes, JSON.stringify({ routes: [{ id: 'filed', target: `http://127.0.0.1:${upstream.port}`, public: true }] }));
    const port = await freePort();
    const start = async () => {
      const gw = await startGateway({ home: gwHome, args: ['--https-port', String(port), '--routes', routes] });
      gateways.push(gw);
      return gw;
    };
    const host = 'filed.apps.localhost';
    const get = (gw: GatewayProcess) => request(gw.httpsPort, { host, ca: gw.ca, path: '/filed', headers: { accept: 'application/json' } });
    const first = await start();
    expect((await get(first)).status).toBe(200);
    await killUnderLoad(first, host, {});
    const again = await start();
    const answer = await get(again);
    expect(answer.status, answer.body).toBe(200);
    rmSync(gwHome, { recursive: true, force: true });
  }, 60_000);
});

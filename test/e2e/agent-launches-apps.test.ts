import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, inspect, startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { adminRoutes, connectTcp, echo, spawnCollect, until, WHARF, type Running } from '../support/tcp.ts';

/*
 * Issue 5, "Done when": real `wharf control`, `wharf gateway` and `wharf agent` processes on
 * the real Docker Engine. An https busybox app launched with `wharf launch -f FILE --json`
 * serves, through the gateway and its browser link, the env, injected files and quoted argv
 * it was given; a tcp busybox echo app is reached through its raw TCP route and through
 * `wharf connect`.
 */

// Every argument is printed between "|": the quoted ones must arrive as one argument each,
// the empty one as an empty argument, '$HOME' unexpanded, the escaped quote kept.
const SCRIPT = [
  'mkdir -p /www',
  'printf "%s|" "$@" > /www/args.txt',
  'printf "%s" "$GREETING" > /www/env.txt',
  'printf "%s" "$OTHER_VAR" > /www/other.txt',
  'cp /etc/app.ini /www/app.ini',
  'exec httpd -f -p 8080 -h /www',
].join(' && ');
const COMMAND = `sh -c '${SCRIPT}' sh 'a b' "c'd" '' '$HOME' "e\\"f" plain`;
const ARGS = `a b|c'd||$HOME|e"f|plain|`;

describe('the agent launches https and tcp apps that the gateway serves', () => {
  let stack: Stack;
  let web: InstanceView;
  let tcp: InstanceView;
  const connects: Running[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    web = await stack.launch({
      name: 'web', routing: { mode: 'https', port: 8080 }, command: COMMAND,
      env: { GREETING: 'hello from env', OTHER_VAR: 'x=y z' },
      files: [
        { path: '/etc/app.ini', content: 'a=1\nb=two words\n', mode: '0644' },
        { path: '/opt/wharf/deep/secret.txt', content: 'only me', mode: '0600' },
      ],
    });
    tcp = await stack.launch({ name: 'echo', routing: { mode: 'tcp', port: 9000 }, command: 'nc -ll -p 9000 -e cat' });
  }, 90_000);
  afterAll(async () => {
    for (const c of connects) await c.stop();
    await stack?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('launches from a config file: queued, then active with links', async () => {
    expect(web.status).toMatch(/^(queued|starting)$/);
    const active = await stack.waitFor(web.id, 'active');
    expect(active.links.https).toBe(`https://${web.id}.apps.localhost:${stack.gateway.httpsPort}/`);
    expect(active.agent).toBeTruthy();
    expect((await stack.show(web.id)).status).toBe('active');
  });

  it('serves the app through its one-time browser link, then with the cookie', async () => {
    await stack.waitFor(web.id, 'active');
    const open = await stack.cli(['open', web.id]);
    expect(open.code, open.stderr).toBe(0);
    const link = new URL(open.stdout.trim());
    expect(link.hostname).toBe(`${web.id}.apps.localhost`);
    expect(link.searchParams.get('wharf_token')).toBeTruthy();
    // The route reaches the gateway shortly after `active`.
    let first = await stack.app(web.id, { path: `${link.pathname}${link.search}` });
    if (first.status === 404 || first.status === 503) {
      await until('the gateway has the route', async () => ![404, 503].includes((await stack.appGet(web.id, await stack.token(web.id), '/args.txt')).status), 10_000, 100);
      first = await stack.app(web.id, { path: `${link.pathname}${link.search}` });
    }
    expect(first.status, first.body).toBe(303);
    expect(first.headers.location).toBe('/');
    const setCookie = [first.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-wharf_session='));
    expect(setCookie).toBeDefined();
    const cookie = setCookie!.split(';')[0];
    const page = await stack.app(web.id, { path: '/args.txt', headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toBe(ARGS);
    // The link is one-time.
    expect((await stack.app(web.id, { path: `${link.pathname}${link.search}`, headers: { accept: 'application/json' } })).status).toBe(401);
  });

  it('refuses a request without a token (401) and with another instance\'s token (403)', async () => {
    await stack.waitFor(web.id, 'active');
    const own = await stack.token(web.id);
    await until('the gateway serves the app', async () => (await stack.appGet(web.id, own, '/env.txt')).status === 200, 10_000, 100);
    expect((await stack.appGet(web.id, undefined, '/env.txt')).status).toBe(401);
    const other = await stack.token(tcp.id);
    const refused = await stack.appGet(web.id, other, '/env.txt');
    expect(refused.status).toBe(403);
    expect(refused.body).not.toContain('hello from env');
  });

  it('passes quoted argv intact, env and injected files to the app', async () => {
    await stack.waitFor(web.id, 'active');
    const token = await stack.token(web.id);
    await until('the gateway serves the app', async () => (await stack.appGet(web.id, token, '/args.txt')).status === 200, 10_000, 100);
    expect((await stack.appGet(web.id, token, '/args.txt')).body).toBe(ARGS);
    expect((await stack.appGet(web.id, token, '/env.txt')).body).toBe('hello from env');
    expect((await stack.appGet(web.id, token, '/other.txt')).body).toBe('x=y z');
    expect((await stack.appGet(web.id, token, '/app.ini')).body).toBe('a=1\nb=two words\n');
    // Inside the container: the files with their modes, the env as given.
    const name = `wharf-${web.id}`;
    const modes = await docker('exec', name, 'stat', '-c', '%a %n', '/etc/app.ini', '/opt/wharf/deep/secret.txt');
    expect(modes.code, modes.stderr).toBe(0);
    expect(modes.stdout.trim().split('\n')).toEqual(['644 /etc/app.ini', '600 /opt/wharf/deep/secret.txt']);
    expect((await docker('exec', name, 'cat', '/opt/wharf/deep/secret.txt')).stdout).toBe('only me');
    const env = (await inspect(name)).Config.Env as string[];
    expect(env).toEqual(expect.arrayContaining(['GREETING=hello from env', 'OTHER_VAR=x=y z']));
    // argv replaced the image's entrypoint and command.
    const info = await inspect(name);
    expect([...info.Config.Entrypoint, ...info.Config.Cmd]).toEqual(['sh', '-c', SCRIPT, 'sh', 'a b', "c'd", '', '$HOME', 'e"f', 'plain']);
  });

  /** The echo app's route as the gateway lists it, once the app is active and the route arrived. */
  const tcpRoute = async (): Promise<Record<string, unknown>> => {
    await stack.waitFor(tcp.id, 'active');
    let route: Record<string, unknown> | undefined;
    await until('the gateway has the TCP route', async () => {
      route = (await adminRoutes(stack.gateway.adminPort)).routes.find((r) => r.id === tcp.id);
      return route !== undefined;
    }, 10_000, 100);
    return route!;
  };

  it('reaches a tcp app through its raw TCP route on the gateway', async () => {
    // The gateway's route for the app, with the port control pinned from its range.
    const route = await tcpRoute();
    expect(route).toMatchObject({ kind: 'tcp' });
    const port = route.port as number;
    expect(port).toBeGreaterThanOrEqual(stack.tcpBase);
    expect(port).toBeLessThan(stack.tcpBase + 20);
    let socket: Awaited<ReturnType<typeof connectTcp>> | undefined;
    await until('the gateway listens on the TCP route\'s port', async () => {
      try {
        socket = await connectTcp(port);
        return true;
      } catch {
        return false;
      }
    }, 10_000, 100);
    try {
      const back = await echo(socket!, 'ping through the raw route\n', 10_000);
      expect(back.toString()).toBe('ping through the raw route\n');
      const big = randomBytes(256 * 1024);
      expect((await echo(socket!, big, 20_000)).equals(big)).toBe(true);
    } finally {
      socket!.destroy();
    }
  });

  it('names the gateway\'s pinned TCP port in the instance view\'s links.tcp', async () => {
    const route = await tcpRoute();
    // DESIGN.md "Instance view": `tcp` is host:port on the gateway, not the agent's published port.
    expect((await stack.show(tcp.id)).links.tcp).toBe(`localhost:${route.port}`);
  });

  it('wharf connect, given only WHARF_URL and WHARF_TOKEN, carries a client session to the echo app with every byte intact', async () => {
    await stack.waitFor(tcp.id, 'active');
    // A WHARF_HOME with nothing in it: the gateway, a token for the app and the CA come from control.
    const empty = mkdtempSync(join(tmpdir(), 'wharf-connect-home-'));
    dirs.push(empty);
    const bareEnv = stack.env({ WHARF_HOME: empty, WHARF_URL: '', WHARF_TOKEN: '' });
    const bare = spawnCollect(process.execPath, [WHARF, 'connect', tcp.id, '--port', '0'], bareEnv);
    connects.push(bare);
    expect(await bare.exited).not.toBe(0);
    expect(bare.stderr().trim().split('\n')).toHaveLength(1);
    expect(bare.stderr()).toMatch(/no token: pass --token T .* or set WHARF_URL and WHARF_TOKEN/);

    const env = stack.env({ WHARF_HOME: empty, WHARF_URL: stack.url, WHARF_TOKEN: stack.adminToken });
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', tcp.id, '--port', '0'], env);
    connects.push(proc);
    const listening = /^wharf connect: 127\.0\.0\.1:(\d+) → /m;
    await until('wharf connect listens', () => listening.test(proc.stdout()) || proc.child.exitCode !== null, 10_000);
    const m = listening.exec(proc.stdout());
    expect(m, proc.stderr()).toBeTruthy();
    const socket = await connectTcp(Number(m![1]));
    try {
      const data = randomBytes(1024 * 1024);
      const back = await echo(socket, data, 30_000);
      expect(back.length).toBe(data.length);
      expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      socket.destroy();
    }
    expect(proc.stderr()).toBe('');
  });
});

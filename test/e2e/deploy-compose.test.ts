import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_COMPOSE, buildImage, CONTROL_COMPOSE, ComposeProject, IMAGE, ok, ROOT, run } from '../support/compose.ts';
import { request } from '../support/https-client.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { envLines, freePort, randomPortBase, runWharf, until } from '../support/tcp.ts';

/*
 * Wharf as docs/deploy.md deploys it, on the real Docker Engine: the image built offline from
 * ./Dockerfile (base wharf/base:local, classic builder), control and gateway started by
 * docker-compose from ./docker-compose.yml, and two external agents, each from its env file
 * (`wharf agents add`) with deploy/agent/docker-compose.yml as a compose project of its own.
 * An app launched through the API in queue alpha runs on agent A and answers through the
 * gateway; a queue-beta job goes to agent B only; with B stopped, a beta job stays queued.
 */
describe('deploying with docker-compose: image, control + gateway, external agents', () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const label = `wharf.test=deploy-${tag}`;
  const work = mkdtempSync(join(tmpdir(), 'wharf-deploy-e2e-'));
  let main: ComposeProject;
  const agents: Record<'a' | 'b', { project: ComposeProject; id: string; metricsPort: number }> = {} as never;
  let controlUrl = '';
  let adminToken = '';
  let httpsPort = 0;
  let ca = '';
  let buildMs = 0;

  const cli = (args: string[]) => runWharf(args, { ...process.env, WHARF_HOME: join(work, 'cli-home'), WHARF_URL: controlUrl, WHARF_TOKEN: adminToken });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${controlUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const app = (queue: string, name: string) => ({
    kind: 'wharf.app-config', version: 1, app: 'container', name, queue,
    image: 'wharf/busybox:local',
    command: `sh -c 'mkdir -p /www && echo "<h1>hello from ${name}</h1>" > /www/index.html && exec httpd -f -p 8080 -h /www'`,
    routing: { mode: 'https', port: 8080 },
  });
  const launch = async (queue: string, name: string) => {
    const res = await api('POST', '/api/v1/instances', app(queue, name));
    if (res.status !== 201 && res.status !== 200) throw new Error(`POST /api/v1/instances answered ${res.status}: ${JSON.stringify(res.json)}`);
    return res.json as { id: string; status: string };
  };
  const show = async (id: string) => (await api('GET', `/api/v1/instances/${id}`)).json as { id: string; status: string; statusReason: string | null; agent: string | null };
  const waitStatus = async (id: string, status: string, ms = 60_000) => {
    let last: Awaited<ReturnType<typeof show>> | undefined;
    try {
      await until(`${id} is ${status}`, async () => (last = await show(id)).status === status, ms, 250);
    } catch (err) {
      const logs = await Promise.all(Object.values(agents).map((a) => a.project.logs('agent')));
      throw new Error(`${(err as Error).message}; last: ${last?.status} (${last?.statusReason})\nagents:\n${logs.join('\n').slice(-4000)}`);
    }
    return last!;
  };

  /** An agent from `wharf agents add NAME --queues QUEUE` as its own compose project. */
  async function startAgent(key: 'a' | 'b', queue: string): Promise<void> {
    const added = await ok('wharf agents add', cli(['agents', 'add', `deploy-${key}-${tag}`, '--queues', queue]));
    const metricsPort = await freePort();
    const envFile = join(work, `agent-${key}.env`);
    // What `wharf agents add` printed, as is, plus this host's settings (agent.env.example).
    writeFileSync(envFile, [
      added.stdout.trim(),
      'WHARF_AGENT_HOST=127.0.0.1',
      'WHARF_AGENT_BIND=127.0.0.1',
      `WHARF_AGENT_METRICS_LISTEN=127.0.0.1:${metricsPort}`,
      `WHARF_LABELS=${label}`,
      'WHARF_HEARTBEAT_S=0.5',
      'WHARF_STOP_TIMEOUT_S=2',
      'WHARF_SAMPLE_INTERVAL_S=2',
      '',
    ].join('\n'), { mode: 0o600 });
    // The agent runs as `node` in the container: it reads the file through Docker, not itself.
    chmodSync(envFile, 0o600);
    const project = new ComposeProject(`wharf-deploy-agent-${key}-`, AGENT_COMPOSE, {
      WHARF_AGENT_ENV_FILE: envFile,
      WHARF_DOCKER_GID: String((await ok('stat', run('stat', ['-c', '%g', '/var/run/docker.sock']))).stdout.trim()),
      WHARF_HEALTHCHECK_INTERVAL: '1s',
    });
    agents[key] = { project, id: '', metricsPort };
    await ok(`docker-compose up agent ${key}`, project.compose(['up', '-d']));
    const listed = await ok('wharf agents ls', cli(['agents', 'ls', '--json']));
    const view = (JSON.parse(listed.stdout) as { id: string; key: string }[]).find((a) => a.key === envLines(added.stdout).WHARF_AGENT_KEY);
    if (!view) throw new Error(`agent ${key} is not in wharf agents ls: ${listed.stdout}`);
    agents[key].id = view.id;
  }

  beforeAll(async () => {
    buildMs = (await buildImage()).ms;
    const tcpBase = randomPortBase();
    const [controlPort, adminPort] = [await freePort(), await freePort()];
    httpsPort = await freePort();
    main = new ComposeProject('wharf-deploy-', CONTROL_COMPOSE, {
      WHARF_CONTROL_PORT: String(controlPort),
      WHARF_GATEWAY_HOST: '127.0.0.1',
      WHARF_GATEWAY_HTTPS_PORT: String(httpsPort),
      WHARF_GATEWAY_ADMIN_PORT: String(adminPort),
      WHARF_TCP_PORTS: `${tcpBase}-${tcpBase + 19}`,
      WHARF_HEALTHCHECK_INTERVAL: '1s',
    });
    controlUrl = `http://127.0.0.1:${controlPort}`;

    // The documented order (docker-compose.yml): control, its admin token, a gateway key, all.
    await ok('docker-compose up control', main.compose(['up', '-d', 'control']));
    await main.waitHealthy('control');
    adminToken = (await main.exec('control', ['cat', '/var/lib/wharf/admin.token'])).trim();
    const gw = await ok('wharf gateways add', cli(['gateways', 'add', `deploy-${tag}`]));
    main.env.WHARF_GATEWAY_KEY = envLines(gw.stdout).WHARF_GATEWAY_KEY;
    await ok('docker-compose up', main.compose(['up', '-d']));
    await main.waitHealthy('gateway');
    ca = await main.exec('gateway', ['cat', '/var/lib/wharf/certs/ca.pem']);

    await startAgent('a', 'alpha');
    await startAgent('b', 'beta');
  }, 900_000);

  afterAll(async () => {
    const projects = [main, ...Object.values(agents).map((a) => a.project)].filter(Boolean);
    for (const p of projects) await p.down();
    // App containers and workspace volumes the agents made carry this test's label.
    const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${label}`])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids]);
    const volumes = (await run('docker', ['volume', 'ls', '-q', '--filter', `label=${label}`])).stdout.trim().split('\n').filter(Boolean);
    if (volumes.length) await run('docker', ['volume', 'rm', '-f', ...volumes]);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('builds the image offline with the classic builder: runtime dependencies only, not root', async () => {
    expect(buildMs).toBeGreaterThan(0);
    const inImage = await ok('docker run', run('docker', ['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c',
      'id -un; node --version; test -d node_modules/fastify && echo fastify; test -e node_modules/typescript || echo no-typescript; test -e node_modules/vitest || echo no-vitest; ls bin/commands | grep -c test.ts || true']));
    expect(inImage.stdout.split('\n')).toEqual(['node', expect.stringMatching(/^v24\./), 'fastify', 'no-typescript', 'no-vitest', '0', '']);
    const help = await ok('docker run IMAGE --help', run('docker', ['run', '--rm', IMAGE, 'agent', '--help']));
    expect(help.stdout + help.stderr).toContain('WHARF_AGENT_BIND');
  });

  it('reports control, gateway and both agents healthy through their Docker healthchecks', async () => {
    expect(await main.health('control')).toBe('healthy');
    expect(await main.health('gateway')).toBe('healthy');
    await agents.a.project.waitHealthy('agent');
    await agents.b.project.waitHealthy('agent');
    // Non-root in every container; the agents with the Docker socket's group added.
    for (const [p, service] of [[main, 'control'], [main, 'gateway'], [agents.a.project, 'agent']] as const) {
      expect((await p.exec(service, ['id', '-u'])).trim()).toBe('1000');
    }
  });

  it('launches an app in queue alpha through the API on agent A and reaches it through the gateway', async () => {
    const { id } = await launch('alpha', 'alpha-app');
    const view = await waitStatus(id, 'active', 90_000);
    expect(view.agent).toBe(agents.a.id);
    const token = (await ok('wharf token', cli(['token', id]))).stdout.trim();
    let reply = await request(httpsPort, { host: `${id}.apps.localhost`, ca, headers: { authorization: `Bearer ${token}` } });
    // The gateway learns the route from control's stream a moment after `active`.
    await until('the gateway serves the app', async () => {
      reply = await request(httpsPort, { host: `${id}.apps.localhost`, ca, headers: { authorization: `Bearer ${token}` } });
      return reply.status === 200;
    }, 20_000, 200);
    expect(reply.body).toContain('hello from alpha-app');
    // Without a token the gateway refuses it: the app is behind the gateway's auth.
    const anonymous = await request(httpsPort, { host: `${id}.apps.localhost`, ca, headers: { accept: 'application/json' } });
    expect(anonymous.status).toBe(401);
    // The app container carries agent A's labels, and runs beside (not inside) the agent's container.
    const labels = await ok('docker inspect', run('docker', ['inspect', '--format', '{{index .Config.Labels "wharf.agent"}}', `wharf-${id}`]));
    expect(labels.stdout.trim()).toBe(agents.a.id);
  });

  it('gives a queue-beta job to agent B only, and with B gone leaves the next one queued', async () => {
    const first = await launch('beta', 'beta-app');
    expect((await waitStatus(first.id, 'active', 90_000)).agent).toBe(agents.b.id);

    await ok('docker-compose stop agent b', agents.b.project.compose(['stop', '--timeout', '10']));
    const second = await launch('beta', 'beta-waits');
    // Agent A is alive and polling, but serves alpha only: the job waits for a beta agent.
    await sleep(6_000);
    const waiting = await show(second.id);
    expect(waiting.status).toBe('queued');
    expect(waiting.agent).toBeNull();
    // SIGTERM left B's running app alone (DESIGN.md "Agent lifecycle").
    expect((await show(first.id)).status).toBe('active');

    await ok('docker-compose start agent b', agents.b.project.compose(['start']));
    expect((await waitStatus(second.id, 'active', 90_000)).agent).toBe(agents.b.id);
  });

  it('serves the apps server\'s memory, CPU and disk on the agent\'s /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${agents.a.metricsPort}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    const names = [...new Set([...text.matchAll(/^(wharf_agent_host_\w+)/gm)].map((m) => m[1]))];
    expect(names.join(' ')).toMatch(/memory/);
    expect(names.join(' ')).toMatch(/cpu/);
    expect(names.join(' ')).toMatch(/disk/);
    // The disk of Docker's data root is really measured inside the container (the read-only mount).
    const listed = JSON.parse((await ok('wharf agents ls', cli(['agents', 'ls', '--json']))).stdout) as { id: string; resources: { diskFreeBytes: number | null } | null }[];
    expect(listed.find((a) => a.id === agents.a.id)?.resources?.diskFreeBytes).toBeGreaterThan(0);
  });

  it('runs the documented cron prune line in the agent\'s container', async () => {
    const pruned = await agents.a.project.exec('agent', ['wharf', 'prune', '--until', '96h', '--label', label, '--json']);
    expect(JSON.parse(pruned)).toEqual([]);
  });

  it('docker-compose config accepts both compose files', async () => {
    const control = await ok('docker-compose config', run('docker-compose', ['-f', CONTROL_COMPOSE, 'config', '-q']));
    expect(control.stderr).not.toMatch(/ERROR/);
    const agent = await ok('docker-compose config (agent)', run('docker-compose', ['-f', AGENT_COMPOSE, 'config', '-q'], {
      env: { WHARF_AGENT_ENV_FILE: `${ROOT}deploy/agent/agent.env.example` },
    }));
    expect(agent.stderr).not.toMatch(/ERROR/);
    // The example env file names every setting the issue asks an apps server to set.
    const example = envLines(readFileSync(`${ROOT}deploy/agent/agent.env.example`, 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    for (const k of ['WHARF_CONTROL_URL', 'WHARF_AGENT_KEY', 'WHARF_AGENT_SECRET', 'WHARF_QUEUES', 'WHARF_AGENT_HOST', 'WHARF_AGENT_BIND']) expect(example).toHaveProperty(k);
  });
});

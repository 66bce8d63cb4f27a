// A whole Wharf as real processes for the agent-*.test.ts end-to-end files: `wharf control`,
// a `wharf gateway` fed by it and a `wharf agent` (its env file from `wharf agents add`) on
// the real Docker Engine, all on ports 0 with one WHARF_HOME, plus the `wharf` CLI and
// `docker` as processes. Every container the agent makes carries the stack's own label
// `wharf.test=<random>` (WHARF_LABELS), so teardown and prune touch only this file's.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlProcess } from './control-process.ts';
import { startGateway, type GatewayProcess } from './gateway-process.ts';
import { request, type Reply, type RequestOptions } from './https-client.ts';
import { envLines, randomPortBase, runWharf, spawnCollect, until, WHARF, type CliResult, type Running } from './tcp.ts';

const IMAGES = new URL('../../images/build.sh', import.meta.url).pathname;
export const BUSYBOX = 'wharf/busybox:local';

/** Runs a command to completion; never rejects (the result carries the exit code). */
export function exec(command: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? err.message : '') });
    });
  });
}

export const docker = (...args: string[]) => exec('docker', args);

/**
 * Checks that the Docker Engine answers and builds the busybox test image (idempotent).
 * Throws, loudly, when either fails: these tests never skip themselves (DESIGN.md "Tests").
 */
export async function requireDockerAndBusybox(): Promise<void> {
  const info = await docker('info', '--format', '{{.ServerVersion}}');
  if (info.code !== 0) throw new Error(`the Docker Engine is not available (docker info exited ${info.code}): ${info.stderr.trim()}`);
  const built = await exec(IMAGES, ['busybox'], 300_000);
  if (built.code !== 0) throw new Error(`images/build.sh busybox failed (${built.code}):\n${built.stdout}${built.stderr}`);
}

/** `docker inspect` of one container, parsed; undefined when there is none by that name. */
export async function inspect(name: string): Promise<any | undefined> {
  const out = await docker('inspect', name);
  if (out.code !== 0) return undefined;
  return (JSON.parse(out.stdout) as unknown[])[0];
}

/** A plain user of a Stack (Stack.addUser). */
export interface StackUser {
  name: string;
  /** The user's id (`u-…`): what control stores as an instance's owner. */
  id: string;
  /** WHARF_URL and WHARF_TOKEN: pass to cli/launch/token to act as this user. */
  env: Record<string, string>;
}

export interface InstanceView {
  id: string;
  name: string;
  status: string;
  statusReason: string | null;
  agent: string | null;
  links: { https: string | null; browser: string | null; endpoint: string | null; tcp: string | null };
  [key: string]: unknown;
}

export interface StackOptions {
  /** Extra flags for `wharf control`. */
  controlArgs?: string[];
  /** Extra environment for the agent (WHARF_MAX_APPS, WHARF_READINESS_TIMEOUT_S…). */
  agentEnv?: Record<string, string>;
  /** Extra flags for `wharf gateway`. */
  gatewayArgs?: string[];
  /** Start no agent in start(): the test starts it itself. */
  noAgent?: boolean;
}

/** The environment without any WHARF_* setting of the caller's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WHARF_')) env[k] = v;
  return env;
}

export class Stack {
  readonly home = mkdtempSync(join(tmpdir(), 'wharf-agent-e2e-'));
  /** This stack's label value: `wharf.test=<testLabel>` is on every container its agent makes. */
  readonly testLabel = `e2e-${randomBytes(6).toString('hex')}`;
  readonly label = `wharf.test=${this.testLabel}`;
  /** Control pins TCP routes' gateway ports from here (base … base + 19): not the default 20000 range other runs use. */
  readonly tcpBase = randomPortBase();
  control!: Running;
  gateway!: GatewayProcess;
  agent: Running | undefined;
  agentEnvFile = '';
  agentId = '';
  url = '';
  adminToken = '';
  readonly options: StackOptions;
  #configs = 0;
  readonly #agents: Running[] = [];

  constructor(options: StackOptions = {}) {
    this.options = options;
  }

  /** The environment of every process of this stack: its WHARF_HOME, nothing from the caller's. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...cleanEnv(), WHARF_HOME: this.home, ...extra };
  }

  async start(): Promise<this> {
    const range = `${this.tcpBase}-${this.tcpBase + 19}`;
    // A day-long idle window: apps under test stay `active` unless a test sets its own (later flags win).
    this.control = await startControlProcess(this.env(), ['--tcp-ports', range, '--idle-window', '86400', ...(this.options.controlArgs ?? [])]);
    const run = JSON.parse(readFileSync(join(this.home, 'run', 'control.json'), 'utf8')) as { url: string };
    this.url = run.url;
    this.adminToken = readFileSync(join(this.home, 'admin.token'), 'utf8').trim();

    const [gw, added] = await Promise.all([this.cli(['gateways', 'add', 'g1']), this.cli(['agents', 'add', 'a1'])]);
    if (gw.code !== 0) throw new Error(`wharf gateways add: ${gw.stderr}`);
    if (added.code !== 0) throw new Error(`wharf agents add: ${added.stderr}`);
    // Same WHARF_HOME: run/gateway.json and certs/ca.pem are where the CLI looks for them.
    this.gateway = await startGateway({ home: this.home, env: { ...cleanEnv(), ...envLines(gw.stdout) }, args: ['--tcp-ports', range, ...(this.options.gatewayArgs ?? [])] });
    this.agentEnvFile = join(this.home, 'agent.env');
    writeFileSync(this.agentEnvFile, added.stdout, { mode: 0o600 });
    if (!this.options.noAgent) await this.startAgent();
    return this;
  }

  /**
   * Starts `wharf agent --env-file agent.env` with this stack's label, short heartbeat and
   * stop timeout, and waits until it said it takes jobs.
   */
  async startAgent(extraEnv: Record<string, string> = {}): Promise<Running> {
    const env = this.env({
      WHARF_LABELS: this.label,
      WHARF_HEARTBEAT_S: '0.5',
      WHARF_STOP_TIMEOUT_S: '2',
      WHARF_LOG_LEVEL: 'info',
      ...this.options.agentEnv,
      ...extraEnv,
    });
    const agent = spawnCollect(process.execPath, [WHARF, 'agent', '--env-file', this.agentEnvFile, '--metrics-listen', '127.0.0.1:0'], env);
    this.#agents.push(agent);
    await until('the agent takes jobs', () => /wharf agent \S+: taking jobs/.test(agent.stderr()) || agent.child.exitCode !== null, 20_000);
    const m = /wharf agent (\S+): taking jobs/.exec(agent.stderr());
    if (!m) throw new Error(`wharf agent exited with ${agent.child.exitCode}:\n${agent.stderr()}${agent.stdout()}`);
    this.agentId = m[1];
    this.agent = agent;
    return agent;
  }

  /** Ends the agent with `signal` (SIGTERM: graceful, apps keep running; SIGKILL: no goodbye). */
  async stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const agent = this.agent;
    this.agent = undefined;
    if (!agent || agent.child.exitCode !== null || agent.child.signalCode !== null) return agent?.child.exitCode ?? null;
    agent.child.kill(signal);
    return Promise.race([agent.exited, new Promise<number | null>((_, reject) => setTimeout(() => reject(new Error(`the agent did not exit on ${signal}`)), 10_000))]);
  }

  /** Runs `wharf ARGS…` against this stack (control from WHARF_HOME's run file and admin.token). */
  cli(args: string[], extraEnv: Record<string, string> = {}, input?: string): Promise<CliResult> {
    return runWharf(args, this.env(extraEnv), input);
  }

  /** Control's API with the admin token. */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /**
   * Adds a plain (non-admin) user with `wharf users add`, signs them in as the dashboard does
   * and makes them an API token: pass `user.env` to cli/launch/token to act as them.
   */
  async addUser(name: string, password = `${name}-password-1`): Promise<StackUser> {
    const added = await this.cli(['users', 'add', name, '--json'], {}, `${password}\n`);
    if (added.code !== 0) throw new Error(`wharf users add ${name} exited ${added.code}: ${added.stderr}`);
    const id = (JSON.parse(added.stdout) as { id: string }).id;
    const origin = `https://localhost:${this.gateway.httpsPort}`;
    const login = await fetch(`${this.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ name, password }),
    });
    if (login.status !== 200) throw new Error(`${name} could not sign in: ${login.status} ${await login.text()}`);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const made = await fetch(`${this.url}/api/v1/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin, cookie }, body: JSON.stringify({ name: 'laptop' }),
    });
    if (made.status !== 201) throw new Error(`${name} could not make an API token: ${made.status} ${await made.text()}`);
    return { name, id, env: { WHARF_URL: this.url, WHARF_TOKEN: ((await made.json()) as { token: string }).token } };
  }

  /** `wharf launch -f FILE --json` with a config file written to WHARF_HOME (as the admin, or as `user` from addUser); the instance view. */
  async launch(config: Record<string, unknown>, user: Record<string, string> = {}): Promise<InstanceView> {
    const file = join(this.home, `config-${++this.#configs}.json`);
    writeFileSync(file, JSON.stringify({ kind: 'wharf.app-config', version: 1, app: 'container', image: BUSYBOX, ...config }, null, 2));
    const out = await this.cli(['launch', '-f', file, '--json'], user);
    if (out.code !== 0) throw new Error(`wharf launch -f ${file} exited ${out.code}: ${out.stderr}`);
    return JSON.parse(out.stdout) as InstanceView;
  }

  /** `wharf show ID --json`. */
  async show(id: string): Promise<InstanceView> {
    const out = await this.cli(['show', id, '--json']);
    if (out.code !== 0) throw new Error(`wharf show ${id} exited ${out.code}: ${out.stderr}`);
    return JSON.parse(out.stdout) as InstanceView;
  }

  /** The instance's workspace snapshots, newest first (control's API). */
  async snapshots(id: string): Promise<{ id: string; sha256: string; size: number }[]> {
    return (await this.api('GET', `/api/v1/snapshots?instance=${id}`)).json.snapshots;
  }

  /** The sha256 of a snapshot's stored bytes as control serves them (to compare with the one it names). */
  async snapshotBytesSha256(snapshot: string): Promise<string> {
    const res = await fetch(`${this.url}/api/v1/snapshots/${snapshot}/blob`, { headers: { authorization: `Bearer ${this.adminToken}` } });
    if (res.status !== 200) throw new Error(`GET /api/v1/snapshots/${snapshot}/blob: ${res.status} ${await res.text()}`);
    return createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
  }

  /** Waits until the instance has `status` (through control's API, cheaper than a CLI process per poll). */
  async waitFor(id: string, status: string | string[], ms = 20_000): Promise<InstanceView> {
    const wanted = Array.isArray(status) ? status : [status];
    let last: InstanceView | undefined;
    try {
      await until(`${id} is ${wanted.join(' or ')}`, async () => {
        last = (await this.api('GET', `/api/v1/instances/${id}`)).json as InstanceView;
        return wanted.includes(last.status);
      }, ms, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last: ${last?.status} (${last?.statusReason})\nagent:\n${this.agent?.stderr().slice(-3000) ?? '(none)'}`);
    }
    return last!;
  }

  /** `wharf token ID` (as the admin, or as `user`): an API-scoped token for the instance. */
  async token(id: string, user: Record<string, string> = {}): Promise<string> {
    const out = await this.cli(['token', id], user);
    if (out.code !== 0) throw new Error(`wharf token ${id} exited ${out.code}: ${out.stderr}`);
    return out.stdout.trim();
  }

  /** An HTTPS request to the gateway for the app host `<id>.apps.localhost`. */
  app(id: string, options: Partial<RequestOptions> = {}): Promise<Reply> {
    return request(this.gateway.httpsPort, { host: `${id}.apps.localhost`, ca: this.gateway.ca, ...options });
  }

  /** GET `path` of the app with `Authorization: Bearer token`. */
  appGet(id: string, token: string | undefined, path = '/'): Promise<Reply> {
    return this.app(id, { path, headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  }

  /** Containers of this stack (`docker ps -a` filtered on its label): name → state. */
  async containers(extraFilter: string[] = []): Promise<Map<string, string>> {
    const out = await docker('ps', '-a', '--filter', `label=${this.label}`, ...extraFilter.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}\t{{.State}}');
    if (out.code !== 0) throw new Error(`docker ps: ${out.stderr}`);
    return new Map(out.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
  }

  /** Stops every process this stack started and removes every container and volume carrying its label. */
  async stop(): Promise<void> {
    for (const agent of this.#agents) await agent.stop().catch(() => undefined);
    await this.gateway?.stop().catch(() => undefined);
    await this.control?.stop().catch(() => undefined);
    const ids = await docker('ps', '-aq', '--filter', `label=${this.label}`);
    const list = ids.stdout.trim().split('\n').filter(Boolean);
    if (list.length) await docker('rm', '-f', '-v', ...list);
    // Workspace volumes (wharf-ws-<id>) carry the label too (WHARF_LABELS); named volumes outlive `rm -v`.
    const volumes = (await docker('volume', 'ls', '-q', '--filter', `label=${this.label}`)).stdout.trim().split('\n').filter(Boolean);
    if (volumes.length) await docker('volume', 'rm', '-f', ...volumes);
    if (existsSync(this.home)) rmSync(this.home, { recursive: true, force: true });
  }

  /** The agent's output so far (for failure messages). */
  agentOutput(): string {
    return this.agent?.stderr() ?? '';
  }

  /** Files under WHARF_HOME/run (debugging). */
  runFiles(): string[] {
    return readdirSync(join(this.home, 'run'));
  }
}

/** Starts a stack (control + gateway + agent) after checking Docker and building busybox. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  await requireDockerAndBusybox();
  const stack = new Stack(options);
  try {
    return await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

// Wharf as deployed (docs/deploy.md): the image of ./Dockerfile, control and gateway from
// ./docker-compose.yml, agents from deploy/agent/docker-compose.yml, each a docker-compose
// project of its own on the real Docker Engine. Used by test/e2e/deploy-compose.test.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliResult } from './tcp.ts';
import { until } from './tcp.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const IMAGE = 'wharf:local';
export const BASE_IMAGE = 'wharf/base:local';
export const CONTROL_COMPOSE = `${ROOT}docker-compose.yml`;
export const AGENT_COMPOSE = `${ROOT}deploy/agent/docker-compose.yml`;

/** This process's environment without the caller's WHARF_* settings (compose substitutes them). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_')));
}

/** Runs a command to completion with `env` added to this process's (less WHARF_*); never rejects. */
export function run(command: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...cleanEnv(), ...options.env },
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? err.message : '') });
    });
  });
}

/** Throws with the command's output unless it exited 0. */
export async function ok(what: string, result: Promise<CliResult>): Promise<CliResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stdout.slice(-4000)}${r.stderr.slice(-4000)}`);
  return r;
}

/**
 * Docker Engine, docker-compose, the offline base image (images/build.sh base: debootstrap, as
 * root, the first time) and wharf:local built from it with the classic builder and no network.
 * Throws, loudly, when any is missing: these tests never skip themselves.
 */
export async function buildImage(): Promise<{ ms: number }> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}']);
  if (info.code !== 0) throw new Error(`the Docker Engine is not available (docker info exited ${info.code}): ${info.stderr.trim()}`);
  const compose = await run('docker-compose', ['version', '--short']);
  if (compose.code !== 0) throw new Error(`docker-compose is missing (apt-get install docker-compose; .ci/run installs it): ${compose.stderr.trim()}`);
  await ok('images/build.sh busybox', run(`${ROOT}images/build.sh`, ['busybox'], { timeoutMs: 300_000 }));
  await ok('images/build.sh base', run(`${ROOT}images/build.sh`, ['base'], { timeoutMs: 600_000 }));
  // The image ships the built dashboard: `npm ci`/`npm test` build it; `vitest run` alone may not have.
  if (!existsSync(`${ROOT}ui/dist/index.html`)) await ok('node ui/build.ts', run(process.execPath, [`${ROOT}ui/build.ts`]));
  const started = Date.now();
  // DOCKER_BUILDKIT=0: the classic builder of Docker 20.10, whatever the CLI's default.
  await ok('docker build', run('docker', ['build', '--force-rm', '-t', IMAGE, '--build-arg', `BASE=${BASE_IMAGE}`, '.'], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 }));
  return { ms: Date.now() - started };
}

/** One docker-compose project (`-p NAME -f FILE`) with the variables its file substitutes. */
export class ComposeProject {
  readonly name: string;
  readonly file: string;
  readonly env: Record<string, string>;

  constructor(prefix: string, file: string, env: Record<string, string>) {
    this.name = `${prefix}${randomBytes(4).toString('hex')}`;
    this.file = file;
    this.env = { WHARF_IMAGE: IMAGE, ...env };
  }

  compose(args: string[], timeoutMs = 180_000): Promise<CliResult> {
    return run('docker-compose', ['-p', this.name, '-f', this.file, ...args], { env: this.env, timeoutMs });
  }

  /** `docker-compose exec -T SERVICE ARGS…`, throwing unless it exits 0. */
  async exec(service: string, args: string[]): Promise<string> {
    return (await ok(`docker-compose exec ${service} ${args.join(' ')}`, this.compose(['exec', '-T', service, ...args]))).stdout;
  }

  async containerId(service: string): Promise<string> {
    const id = (await this.compose(['ps', '-q', service])).stdout.trim();
    if (!id) throw new Error(`${this.name}: no container for ${service}`);
    return id;
  }

  /** The Docker healthcheck's status of the service's container (starting, healthy, unhealthy). */
  async health(service: string): Promise<string> {
    const out = await run('docker', ['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', await this.containerId(service)]);
    return out.stdout.trim();
  }

  async waitHealthy(service: string, ms = 90_000): Promise<void> {
    let last = '';
    try {
      await until(`${this.name} ${service} is healthy`, async () => (last = await this.health(service)) === 'healthy', ms, 500);
    } catch (err) {
      const logs = await this.compose(['logs', '--no-color', '--tail', '40', service]);
      const inspect = await run('docker', ['inspect', '--format', '{{json .State.Health}}', await this.containerId(service).catch(() => 'none')]);
      throw new Error(`${(err as Error).message}; last: ${last}\nhealth: ${inspect.stdout.slice(-1500)}\nlogs:\n${logs.stdout.slice(-3000)}`);
    }
  }

  logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', '--tail', '60', service]).then((r) => r.stdout + r.stderr);
  }

  /** `down -v`: containers, the project's network and its named volumes. */
  down(): Promise<CliResult> {
    return this.compose(['down', '-v', '--remove-orphans', '--timeout', '5']);
  }
}

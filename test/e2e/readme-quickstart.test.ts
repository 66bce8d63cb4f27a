import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/https-client.ts';
import { until } from '../support/tcp.ts';

/*
 * The README's quick start, run as a newcomer runs it: on this checkout, with the machine's own
 * `node` first on PATH (Node 20 here, which cannot run bin/wharf.ts itself), reusing the
 * installed node_modules instead of `npm ci`. The commands are read from the README's marked
 * blocks (`<!-- readme-test: start -->`, `<!-- readme-test: tour -->`) and from the banner
 * `npm start` prints, and run as shown; the test only adds what the README says a reader
 * waits for ("active within seconds", "listed here once it has stopped"), and the optional
 * port and WHARF_HOME variables the README names.
 */

const REPO = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const LABEL = `wharf.test=readme-${process.pid}`;

/** The lines of the sh block after `<!-- readme-test: NAME -->` in the README. */
function readmeBlock(name: string): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- readme-test: ${name} -->`);
  if (at < 0) throw new Error(`README.md has no block marked <!-- readme-test: ${name} -->`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`no sh block follows <!-- readme-test: ${name} -->`);
  return block[1].split('\n').filter((line) => line.trim() !== '');
}

/** A line without its trailing comment (the README's are after two spaces or more). */
const command = (line: string) => line.replace(/\s{2,}#.*$/, '').trim();

/** A fresh machine's PATH: the system's `node` first, nothing of node_modules. */
const PATH = ['/usr/bin', ...(process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules'))].join(':');

function newcomerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, ...extra };
  // What npm and vitest put there would not be in a newcomer's shell.
  for (const key of Object.keys(env)) if (/^(npm_|WHARF_URL$|WHARF_TOKEN$|NODE_OPTIONS$|VITEST)/.test(key)) delete env[key];
  return env;
}

interface Shell { code: number | null; stdout: string; stderr: string }

/** Runs `script` in bash as a person's shell would, in `cwd`. */
function sh(script: string, env: NodeJS.ProcessEnv, cwd = REPO): Promise<Shell> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the README\'s quick start on this checkout, with the system\'s node first on PATH', () => {
  let home: string;
  let npmStart: ChildProcess | undefined;
  let output = '';
  let env: NodeJS.ProcessEnv;
  let ca: string;

  /** What the test itself checks goes straight to control's API: one CLI start costs seconds on a loaded machine. */
  const api = async (path: string) => {
    const { url } = JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string };
    const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const instance = (id: string) => api(`/api/v1/instances/${id}`);
  const statusOf = async (id: string) => (await instance(id)).status as string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-readme-'));
    // The variables the README names for ports that are taken: 0 picks free ones.
    env = newcomerEnv({
      WHARF_HOME: home, WHARF_GATEWAY_HTTPS_PORT: '0', WHARF_GATEWAY_ADMIN_PORT: '0', WHARF_CONTROL_LISTEN: '127.0.0.1:0',
      WHARF_AGENT_METRICS_LISTEN: '127.0.0.1:0', WHARF_LABELS: LABEL, WHARF_LOG_LEVEL: 'warn',
    });
    const [start] = readmeBlock('start');
    // `npm ci` would download everything again: this checkout's node_modules stand for it.
    expect(command(start)).toBe('npm ci && npm start');
    // Its own process group, so that npm and the wharf up it starts are stopped together.
    npmStart = spawn('bash', ['-c', 'npm start'], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    npmStart.stdout!.on('data', (c) => (output += c));
    npmStart.stderr!.on('data', (c) => (output += c));
    // The banner ends with the command that launches the example.
    await until('npm start prints its banner', () => /launch -f \S+\s*$/m.test(output) || npmStart!.exitCode !== null, 60_000, 100)
      .catch(() => undefined);
    if (npmStart.exitCode !== null || !output.includes('wharf up: dashboard')) throw new Error(`npm start did not come up:\n${output}`);
    ca = readFileSync(join(home, 'certs', 'ca.pem'), 'utf8');
  }, 90_000);

  afterAll(async () => {
    if (npmStart?.pid && npmStart.exitCode === null) {
      const exited = new Promise((resolve) => npmStart!.once('exit', resolve));
      process.kill(-npmStart.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (npmStart.exitCode === null) process.kill(-npmStart.pid, 'SIGKILL');
    }
    const containers = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
    if (containers) execFileSync('docker', ['rm', '-f', ...containers.split('\n')], { stdio: 'ignore' });
    const volumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
    if (volumes) execFileSync('docker', ['volume', 'rm', '-f', ...volumes.split('\n')], { stdio: 'ignore' });
    if (home) rmSync(home, { recursive: true, force: true });
  }, 30_000);

  it('runs with the system\'s node first on PATH and names npm test', () => {
    expect(spawnSync('bash', ['-c', 'command -v node'], { env, encoding: 'utf8' }).stdout.trim()).toBe('/usr/bin/node');
    expect(readmeBlock('start').map(command)).toContain('npm test');
  });

  it('prints a banner whose sign-in files exist and whose commands work as shown, from any folder', async () => {
    const dashboard = /wharf up: dashboard (\S+) \(CA: (\S+)\)/.exec(output);
    expect(dashboard, output).not.toBeNull();
    expect(dashboard![2]).toBe(join(home, 'certs', 'ca.pem'));
    const password = /the password in (\S+);/.exec(output)?.[1];
    expect(password).toBe(join(home, 'admin.password'));
    expect(output).not.toContain('~/.wharf');

    // Sign in as the banner says, through the dashboard's address.
    const url = new URL(dashboard![1]);
    const port = Number(url.port);
    const page = await request(port, { host: url.host, path: '/signin', ca });
    expect(page.status).toBe(200);
    const login = await request(port, {
      host: url.host, path: '/api/v1/auth/login', method: 'POST', ca,
      headers: { 'content-type': 'application/json', origin: url.origin },
      body: JSON.stringify({ name: 'admin', password: readFileSync(password!, 'utf8').trim() }),
    });
    expect(login.status, login.body).toBe(200);

    // The banner's lines, pasted into a shell elsewhere that knows nothing of this WHARF_HOME.
    const block = /try it, in another terminal:\n((?: {4}.*(?:\n|$))+)/.exec(output);
    expect(block, `the banner shows no commands to paste:\n${output}`).not.toBeNull();
    const lines = block![1].trimEnd().split('\n').map((l) => l.trim());
    const { WHARF_HOME: _home, ...elsewhere } = env;
    const r = await sh(`set -e\n${lines.join('\n')}`, elsewhere, tmpdir());
    expect(r.code, `${lines.join('\n')}\n${r.stderr}`).toBe(0);
    const id = r.stdout.trim().split('\n').at(-1)!;
    expect(id).toMatch(/^[a-z0-9-]+$/);
    expect((await api('/api/v1/instances')).instances).toContainEqual(expect.objectContaining({ id }));
  }, 60_000);

  it('runs the tour\'s commands as shown: launch Jupyter, list, open, stop, clone', async () => {
    let id = '';
    let clone = '';
    for (const line of readmeBlock('tour')) {
      const cmd = command(line);
      // The tour's one variable, $id, carried from line to line as a shell session would.
      const r = await sh(`${cmd}\nprintf '\\n#id=%s' "\${id:-}"`, { ...env, id });
      expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
      id = /#id=(.*)$/.exec(r.stdout)![1];
      const out = r.stdout.replace(/\n#id=.*$/, '').trim();

      if (cmd.startsWith('id=$(')) {
        expect(id).toMatch(/^[a-z0-9-]+$/);
        expect((await instance(id)).app).toBe('jupyter');
        // "active within seconds"
        await until('Jupyter is active', async () => (await statusOf(id)) === 'active', 60_000, 100);
      } else if (/ open /.test(cmd)) {
        // The link signs a browser in to the notebook server: a 303 with the app cookie, then Jupyter answers.
        const link = new URL(out);
        const first = await request(Number(link.port), { host: link.host, path: link.pathname + link.search, ca, headers: { accept: 'text/html' } });
        expect(first.status).toBe(303);
        const cookie = String(first.headers['set-cookie']).split(';')[0];
        const status = await request(Number(link.port), { host: link.host, path: '/api/status', ca, headers: { cookie } });
        expect(status.status, status.body).toBe(200);
        expect(JSON.parse(status.body)).toHaveProperty('started');
      } else if (/ stop /.test(cmd)) {
        // "listed here once it has stopped"
        await until('the instance has stopped', async () => (await statusOf(id)) === 'stopped', 60_000, 100);
      } else if (cmd.includes('--status stopped')) {
        expect(out).toContain(id);
      } else if (cmd.includes(' clone ')) {
        clone = out.split('\n').at(-1)!;
        expect(clone).toMatch(/^[a-z0-9-]+$/);
        expect(clone).not.toBe(id);
        await until('the clone is active', async () => (await statusOf(clone)) === 'active', 60_000, 100);
        expect((await instance(clone)).restoredFrom).toBe(id);
      }
    }
    expect(clone).not.toBe('');
    expect(existsSync(join(home, 'wharf.db'))).toBe(true);
  }, 180_000);
});

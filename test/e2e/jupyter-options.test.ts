import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, issueCertificate } from '../../certs/authority.ts';
import { execute, jupyterApi, JUPYTER, kernelSocket, runCell, startKernel } from '../support/jupyter.ts';
import { docker, inspect, startStack, type InstanceView, type Stack } from '../support/stack.ts';
import type WebSocket from 'ws';

/*
 * Issue 7 "The Jupyter app", done when (second test): a git clone at a given commit from a
 * repository this test serves on the Docker bridge (HTTPS, its certificate from a CA the
 * config injects), with and without storing it in the snapshot; extra packages installed
 * from a package index this test serves (PEP 503 simple layout, a wheel built offline) and
 * importable in a notebook cell (the kernel runs in the venv); the init script's output in
 * the console; a bad git URL failing clearly with the instance `failed`; a direct request to
 * the container's published port without Jupyter's token refused; a kernel running a cell
 * keeps its instance active while an untouched one goes idle.
 */

const BRIDGE = '172.17.0.1';
const WS = '/root/workspace';
const CA_PATH = '/etc/wharf-test/ca.pem';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, BRIDGE, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Serves files under `root` (no listing); 404 for anything else. */
function staticFiles(root: string, extra: (path: string) => string | undefined = () => undefined) {
  return (req: { url?: string }, res: import('node:http').ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const page = extra(path);
    if (page !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      return;
    }
    const file = normalize(join(root, path));
    try {
      if (!file.startsWith(root) || !statSync(file).isFile()) throw new Error('not a file');
      res.writeHead(200).end(readFileSync(file));
    } catch {
      res.writeHead(404).end('not found\n');
    }
  };
}

describe('jupyter options: git, packages, init script, failures, direct access, activity', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'wharf-jupyter-e2e-'));
  const servers: Server[] = [];
  let gitUrl = '';
  let indexUrl = '';
  let first = '';
  let second = '';
  let ca = '';
  let stored = '';
  let notStored = '';

  const logs = async (id: string) => (await stack.cli(['logs', id])).stdout;
  const launch = (config: Record<string, unknown>) => stack.launch({ app: 'jupyter', image: JUPYTER, ...config });
  const gitConfig = (fields: object) => ({
    files: [{ path: CA_PATH, content: ca }],
    env: { GIT_SSL_CAINFO: CA_PATH },
    git: { repo: gitUrl, ...fields },
  });

  beforeAll(async () => {
    expect((await docker('image', 'inspect', JUPYTER)).code, `${JUPYTER} is missing: images/build.sh jupyter`).toBe(0);
    stack = await startStack({ controlArgs: ['--idle-window', '4'], agentEnv: { WHARF_SAMPLE_INTERVAL_S: '1', WHARF_READINESS_TIMEOUT_S: '120' } });

    // A repository with two commits, served over HTTPS ("dumb" protocol: plain files of a bare repository).
    const work = join(dir, 'work');
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    const git = (...args: string[]) => execFileSync('git', args, { env, cwd: work }).toString().trim();
    mkdirSync(work);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(work, 'version.txt'), 'first\n');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    first = git('rev-parse', 'HEAD');
    writeFileSync(join(work, 'version.txt'), 'second\n');
    git('commit', '-q', '-am', 'second');
    second = git('rev-parse', 'HEAD');
    execFileSync('git', ['clone', '-q', '--bare', work, join(dir, 'repo.git')]);
    execFileSync('git', ['-C', join(dir, 'repo.git'), 'update-server-info']);
    const authority = createAuthority('wharf e2e git CA');
    ca = authority.cert;
    const tls = issueCertificate(authority, { names: [BRIDGE] });
    const gitServer = createHttpsServer({ cert: tls.cert, key: tls.key }, staticFiles(dir));
    servers.push(gitServer);
    gitUrl = `https://${BRIDGE}:${await listen(gitServer)}/repo.git`;

    // A one-module wheel, built offline in the Jupyter image itself, and a PEP 503 index for it.
    const files = join(dir, 'index');
    mkdirSync(files);
    const build = await docker('run', '--rm', '--label', stack.label, '-v', `${files}:/out`, JUPYTER, 'python3', '-c', [
      'import zipfile, hashlib, base64',
      'files = {"wharftiny.py": "VALUE = 42\\n", "wharftiny-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: wharftiny\\nVersion: 1.0\\n", "wharftiny-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: wharf-e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}',
      'rec = "".join(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b\'=\').decode()},{len(c.encode())}\\n" for n, c in files.items()) + "wharftiny-1.0.dist-info/RECORD,,\\n"',
      'z = zipfile.ZipFile("/out/wharftiny-1.0-py3-none-any.whl", "w")',
      '[z.writestr(n, c) for n, c in files.items()]',
      'z.writestr("wharftiny-1.0.dist-info/RECORD", rec)',
      'z.close()',
    ].join('\n'));
    expect(build.code, build.stderr).toBe(0);
    const index = createHttpServer(staticFiles(files, (path) => {
      if (path === '/simple/') return '<!DOCTYPE html><html><body><a href="wharftiny/">wharftiny</a></body></html>';
      if (path === '/simple/wharftiny/') return '<!DOCTYPE html><html><body><a href="/wharftiny-1.0-py3-none-any.whl">wharftiny-1.0-py3-none-any.whl</a></body></html>';
      return undefined;
    }));
    servers.push(index);
    indexUrl = `http://${BRIDGE}:${await listen(index)}/simple/`;
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) s.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails clearly on a bad git URL: the instance is failed, the console says why', async () => {
    const view = await launch({ name: 'bad-git', git: { repo: `https://${BRIDGE}:1/nothing.git` } });
    const failed = await stack.waitFor(view.id, 'failed', 60_000);
    expect(failed.statusReason).toMatch(/exited with code 1/);
    expect(failed.statusReason).toContain(`git clone of https://${BRIDGE}:1/nothing.git failed`);
    expect(await logs(view.id)).toContain(`wharf: error: git clone of https://${BRIDGE}:1/nothing.git failed`);
  }, 90_000);

  it('runs the init script, clones at a commit into the workspace, installs packages the kernel imports; the published port refuses requests without the token', async () => {
    const view = await launch({
      name: 'options',
      ...gitConfig({ commit: first, storeInSnapshot: true }),
      env: { GIT_SSL_CAINFO: CA_PATH, PIP_INDEX_URL: indexUrl, PIP_TRUSTED_HOST: BRIDGE },
      extraPackages: ['wharftiny==1.0'],
      initScript: '#!/bin/bash\n# a comment at the start of a line\necho "init says $((6 * 7))"\n',
    });
    stored = view.id;
    await stack.waitFor(view.id, ['active', 'idle'], 120_000);
    const console_ = await logs(view.id);
    // In order (the agent's own lines may come between).
    const lines = console_.split('\n');
    const at = (line: string) => lines.indexOf(line);
    expect(at('wharf: running the init script')).toBeGreaterThanOrEqual(0);
    expect(at('init says 42')).toBeGreaterThan(at('wharf: running the init script'));
    expect(at('wharf: init script done')).toBeGreaterThan(at('init says 42'));
    expect(console_).toContain('wharf: installing 1 extra package(s) into /opt/wharf/venv: wharftiny==1.0');
    expect(console_).toMatch(/Successfully installed wharftiny-1\.0/);
    expect(console_).toContain(`wharf: git: ${WS}/git_repo at ${first.slice(0, 7)}`);
    expect(console_).toContain('wharf: starting Jupyter Notebook on port 8888');

    const token = await stack.token(view.id);
    const repo = await jupyterApi(stack, view.id, token, 'GET', '/api/contents/git_repo/version.txt');
    expect(repo.status, repo.text).toBe(200);
    expect(repo.json.content).toBe('first\n');
    expect(await runCell(stack, view.id, token, 'import sys, wharftiny\nprint(wharftiny.VALUE, sys.prefix)')).toBe('42 /opt/wharf/venv\n');

    // Straight to the container's published port, without Jupyter's token (or with a wrong one): refused.
    const ports = (await inspect(`wharf-${view.id}`)).NetworkSettings.Ports['8888/tcp'] as { HostIp: string; HostPort: string }[];
    const direct = `http://${ports[0].HostIp === '0.0.0.0' ? '127.0.0.1' : ports[0].HostIp}:${ports[0].HostPort}`;
    for (const path of ['/api/contents', '/api/status', '/api/kernels']) {
      expect((await fetch(`${direct}${path}`)).status).toBe(403);
      expect((await fetch(`${direct}${path}`, { headers: { authorization: `token ${'0'.repeat(64)}` } })).status).toBe(403);
      expect((await fetch(`${direct}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    }
    const home = await fetch(`${direct}/tree`, { redirect: 'manual' });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toMatch(/\/login/);
  }, 180_000);

  it('clones outside the workspace with a git_repo_not_synced symlink when the repository is not stored', async () => {
    const view = await launch({ name: 'not-synced', ...gitConfig({ branch: 'main', storeInSnapshot: false }) });
    notStored = view.id;
    await stack.waitFor(view.id, ['active', 'idle'], 120_000);
    expect(await logs(view.id)).toContain(`wharf: git: ${WS}/git_repo_not_synced → /opt/wharf/git_repo (not stored in snapshots)`);
    const link = await docker('exec', `wharf-${view.id}`, 'sh', '-c', `readlink ${WS}/git_repo_not_synced; git -C /opt/wharf/git_repo rev-parse HEAD; ls ${WS}`);
    expect(link.stdout.trim().split('\n')).toEqual(['/opt/wharf/git_repo', second, 'git_repo_not_synced']);
    const token = await stack.token(view.id);
    const file = await jupyterApi(stack, view.id, token, 'GET', '/api/contents/git_repo_not_synced/version.txt');
    expect(file.json?.content).toBe('second\n');
  }, 180_000);

  it('a clone keeps the stored repository (not cloned again) and clones the one not stored afresh', async () => {
    expect(stored && notStored).toBeTruthy();
    for (const id of [stored, notStored]) expect((await stack.cli(['stop', id])).code).toBe(0);
    await Promise.all([stack.waitFor(stored, 'stopped', 60_000), stack.waitFor(notStored, 'stopped', 60_000)]);
    const clones: string[] = [];
    for (const id of [stored, notStored]) {
      const out = await stack.cli(['clone', id]);
      expect(out.code, out.stderr).toBe(0);
      clones.push((await stack.launch(JSON.parse(out.stdout))).id);
    }
    await Promise.all(clones.map((id) => stack.waitFor(id, ['active', 'idle'], 120_000)));
    const [a, b] = [await logs(clones[0]), await logs(clones[1])];
    expect(a).toContain(`wharf: git: ${WS}/git_repo is there already (restored): not cloned again`);
    expect((await docker('exec', `wharf-${clones[0]}`, 'git', '-C', `${WS}/git_repo`, 'rev-parse', 'HEAD')).stdout.trim()).toBe(first);
    expect(b).toContain('wharf: git: cloning');
    expect(b).toContain(`wharf: git: ${WS}/git_repo_not_synced → /opt/wharf/git_repo`);
    expect((await docker('exec', `wharf-${clones[1]}`, 'git', '-C', '/opt/wharf/git_repo', 'rev-parse', 'HEAD')).stdout.trim()).toBe(second);
    for (const id of clones) await stack.cli(['stop', id]);
  }, 240_000);

  it('a kernel running a cell keeps its instance active while an untouched one goes idle', async () => {
    const [busy, untouched] = await Promise.all([launch({ name: 'busy-kernel' }), launch({ name: 'untouched' })]);
    await Promise.all([stack.waitFor(busy.id, ['active', 'idle'], 120_000), stack.waitFor(untouched.id, ['active', 'idle'], 120_000)]);
    const token = await stack.token(busy.id);
    const kernel = await startKernel(stack, busy.id, token);
    const socket = await kernelSocket(stack, busy.id, token, kernel);
    expect(await execute(socket, 'print(6 * 7)')).toBe('42\n');
    // A long cell that uses no CPU: only Jupyter's own activity says the app is in use. The socket
    // closes, so no gateway traffic either; the cell runs on. It sleeps far longer than the test
    // looks (the stack's teardown removes the container): a cell that ended while a loaded machine
    // was still polling would rightly let the instance go idle.
    socket.send(JSON.stringify({
      header: { msg_id: 'long', username: 'wharf', session: 'wharf-e2e', msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
      parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
      content: { code: 'import time\ntime.sleep(900)', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    }));
    // Close only once the kernel says it is busy with that cell: on a loaded machine a fixed
    // pause could close the socket before the request reached the kernel.
    await new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData) => {
        const m = JSON.parse(data.toString());
        if (m.parent_header?.msg_id === 'long' && m.msg_type === 'status' && m.content.execution_state === 'busy') {
          socket.off('message', onMessage);
          resolve();
        }
      };
      socket.on('message', onMessage);
    });
    socket.close();

    await stack.waitFor(untouched.id, 'idle', 30_000);
    // Long past the 4 s idle window: the busy one is still active, sample after sample (through
    // the API: a CLI process per look would stretch the 12 s on a loaded machine).
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      expect(((await stack.api('GET', `/api/v1/instances/${busy.id}`)).json as InstanceView).status).toBe('active');
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect((await stack.show(busy.id)).status).toBe('active');
    expect((await stack.show(untouched.id)).status).toBe('idle');
  }, 180_000);
});

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAppConfig, type JupyterAppConfig } from '../protocol/app-config.ts';
import { parseLaunchSpec } from '../protocol/launch-spec.ts';
import { fieldOf } from '../test/support/validation.ts';
import { compileApp, COMPILERS } from './index.ts';
import { BOOT_SCRIPT, bootScript, compileJupyter, INIT_SCRIPT, shellQuote } from './jupyter.ts';

function config(fields: object = {}): JupyterAppConfig {
  return parseAppConfig({ app: 'jupyter', ...fields }) as JupyterAppConfig;
}
const compile = (fields: object = {}, admin = false) => compileJupyter(config(fields), { admin });

describe('compileJupyter', () => {
  it('runs the boot script on the routing port, with its own token for the gateway only', () => {
    const spec = compile({ env: { KEY: 'value' }, containerArgs: '--shm-size 64m --cpus 2' });
    expect(parseLaunchSpec(spec)).toEqual(spec);
    expect(spec.app).toBe('jupyter');
    expect(spec.image).toBe('wharf/jupyter:local');
    expect(spec.argv).toEqual(['bash', BOOT_SCRIPT]);
    expect(spec.workdir).toBe('/root/workspace');
    expect(spec.ports).toEqual([{ port: 8888, routing: 'https' }]);
    expect(spec.readiness).toEqual({ kind: 'http', port: 8888, path: '/api/status' });
    expect(spec.activity).toEqual({ kind: 'jupyter', port: 8888, path: '/api/status', tokenEnv: 'JUPYTER_TOKEN' });
    // containerArgs are compileContainer's: the same parsing, limits and options.
    expect(spec.limits).toEqual({ memory: null, nanoCpus: 2_000_000_000 });
    expect(spec.docker.HostConfig.ShmSize).toBe(64 * 1024 ** 2);
    const token = spec.env.JUPYTER_TOKEN;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(spec.env).toEqual({ KEY: 'value', JUPYTER_TOKEN: token });
    expect(spec.routeHeaders).toEqual({ Authorization: `token ${token}` });
    // Drawn afresh for every launch (a clone gets its own).
    expect(compile().env.JUPYTER_TOKEN).not.toBe(token);
    // Only the boot script without an init script.
    expect(spec.files.map((f) => [f.path, f.mode])).toEqual([[BOOT_SCRIPT, '0755']]);
    expect(spec.files[0].content).toBe(bootScript(config({ env: { KEY: 'value' }, containerArgs: '--shm-size 64m --cpus 2' })));
    // The token is not in the script (it lives in env and the route only).
    expect(spec.files[0].content).not.toContain(token);
  });

  it('injects the init script as its own file, after the user\'s files', () => {
    const spec = compile({ initScript: '#!/bin/bash\n# setup\necho ready', files: [{ path: '/etc/a.ini', content: 'a=1' }] });
    expect(spec.files.map((f) => f.path)).toEqual(['/etc/a.ini', BOOT_SCRIPT, INIT_SCRIPT]);
    expect(spec.files[2]).toEqual({ path: INIT_SCRIPT, content: '#!/bin/bash\n# setup\necho ready\n', mode: '0755' });
    expect(spec.files[1].content).toContain(`INIT='${INIT_SCRIPT}'`);
    expect(compile({ initScript: '  \n' }).files.map((f) => f.path)).toEqual([BOOT_SCRIPT]);
  });

  it('puts the settings into the boot script as quoted bash variables', () => {
    const script = bootScript(config({
      routing: { port: 9999 }, workspace: { path: '/home/me/work' },
      git: { repo: "https://example.com/it's.git", branch: 'dev', commit: 'abc1234', storeInSnapshot: false },
      extraPackages: ['pandas==2.2.1', 'numpy>=1.26,<2'],
    }));
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toContain("WS='/home/me/work'\n");
    expect(script).toContain("PORT='9999'\n");
    expect(script).toContain("GIT_REPO='https://example.com/it'\\''s.git'\n");
    expect(script).toContain("GIT_BRANCH='dev'\nGIT_COMMIT='abc1234'\nGIT_STORE='0'\n");
    expect(script).toContain("PACKAGES=('pandas==2.2.1' 'numpy>=1.26,<2')\n");
    expect(bootScript(config())).toContain('PACKAGES=()\n');
    expect(execFileSync('bash', ['-n'], { input: script })).toHaveLength(0);
  });

  it('uses the config\'s image, port and workdir', () => {
    const spec = compile({ image: 'example/lab:1', routing: { port: 8000 }, workdir: '/srv' });
    expect(spec.image).toBe('example/lab:1');
    expect(spec.ports).toEqual([{ port: 8000, routing: 'https' }]);
    expect(spec.readiness).toMatchObject({ port: 8000 });
    expect(spec.activity).toMatchObject({ port: 8000 });
    expect(spec.workdir).toBe('/srv');
  });

  it('refuses what a jupyter app cannot take, naming the field', () => {
    expect(fieldOf(() => compile({ routing: { mode: 'tcp', port: 8888 } }))).toBe('routing.mode');
    expect(fieldOf(() => compile({ routing: { mode: 'none' } }))).toBe('routing.mode');
    expect(fieldOf(() => compile({ files: [{ path: BOOT_SCRIPT, content: '' }] }))).toBe('files[0].path');
    expect(fieldOf(() => compile({ containerArgs: '--privileged' }))).toBe('containerArgs');
    expect(compile({ containerArgs: '--privileged' }, true).docker.HostConfig.Privileged).toBe(true);
  });

  it('is the jupyter kind\'s compiler', () => {
    expect(COMPILERS.jupyter).toBe(compileJupyter);
    expect(compileApp(config(), { admin: false }).app).toBe('jupyter');
  });
});

describe('shellQuote', () => {
  it('quotes anything into one bash word', () => {
    for (const s of ['', 'plain', "it's", '$(rm -rf /) `x` "y" \\ \n']) {
      expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(s)}`]).toString()).toBe(s);
    }
  });
});

/*
 * The boot script itself, run by bash with stand-ins: `python3` a script that answers the
 * Jupyter checks and prints what it would run, git a real git cloning a local repository
 * (the config's https URL is swapped for its path; git's behaviour is the same).
 */
describe('the boot script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-boot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  const fakePython = `#!/bin/bash
case "$*" in
  "-c import jupyterlab") [ -n "\${HAS_LAB:-}" ] || exit 1 ;;
  "-c import notebook.notebookapp"|"-c import notebook") exit 0 ;;
  "-m venv "*) mkdir -p "\${@: -1}/bin" && touch "\${@: -1}/bin/python" && chmod +x "\${@: -1}/bin/python" ;;
  "- "*) cat >/dev/null; [ -z "\${NO_INDEX:-}" ] || { echo "wharf: URLError: refused"; exit 1; } ;;
  *) echo "python3 $*" ;;
esac
`;
  writeFileSync(join(bin, 'python3'), fakePython);
  chmodSync(join(bin, 'python3'), 0o755);
  // A repository with two commits, the first tagged for the test.
  const repo = join(dir, 'repo');
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).toString().trim();
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  writeFileSync(join(repo, 'a.txt'), 'one\n');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  const first = git('rev-parse', 'HEAD');
  writeFileSync(join(repo, 'a.txt'), 'two\n');
  git('commit', '-q', '-am', 'second');

  let n = 0;
  function run(fields: object, env: Record<string, string> = {}) {
    const root = join(dir, `run${n++}`);
    const ws = join(root, 'ws');
    const c = config({ workspace: { path: ws }, ...fields });
    let script = bootScript(c)
      .replace(/^GIT_REPO=.*$/m, c.git.repo ? `GIT_REPO=${shellQuote(c.git.repo === 'https://example.com/repo.git' ? repo : c.git.repo)}` : "GIT_REPO=''")
      .replace(/^OUTSIDE_GIT=.*$/m, `OUTSIDE_GIT=${shellQuote(join(root, 'outside'))}`)
      .replace(/^VENV=.*$/m, `VENV=${shellQuote(join(root, 'venv'))}`)
      .replaceAll('/opt/wharf/jupyter', join(root, 'jupyter'));
    if (c.initScript.trim()) {
      writeFileSync(join(dir, `init${n}.sh`), c.initScript);
      script = script.replace(/^INIT=.*$/m, `INIT=${shellQuote(join(dir, `init${n}.sh`))}`);
    }
    const r = spawnSync('bash', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH}`, JUPYTER_TOKEN: 't0k', HOME: dir, ...env }, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr, ws, root };
  }

  it('starts Jupyter Notebook on the port, rooted in the workspace, with a line per step', () => {
    const r = run({ initScript: '# comment\necho hello from init' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('wharf: running the init script\nhello from init\nwharf: init script done');
    expect(r.out).toContain('wharf: starting Jupyter Notebook on port 8888');
    expect(r.out).toContain(`python3 -m notebook --no-browser --allow-root --NotebookApp.ip=0.0.0.0 --NotebookApp.port=8888 --NotebookApp.port_retries=0 --NotebookApp.allow_remote_access=True --NotebookApp.trust_xheaders=True --NotebookApp.notebook_dir=${r.ws}`);
    expect(r.out).not.toContain('t0k');
  });

  it('execs the config\'s command instead of Jupyter when it has one', () => {
    expect(bootScript(config({ command: "python3 -m jupyterlab --ServerApp.base_url='/x y/'" }))).toContain("COMMAND=('python3' '-m' 'jupyterlab' '--ServerApp.base_url=/x y/')\n");
    expect(bootScript(config())).toContain('COMMAND=()\n');
    const r = run({ command: "python3 -m mything 'two words'" });
    expect(r.code).toBe(0);
    expect(r.out).toContain("wharf: starting the config's command: python3 -m mything two words\npython3 -m mything two words");
    expect(r.out).not.toContain('starting Jupyter');
  });

  it('starts Jupyter Lab when the image has it', () => {
    const r = run({}, { HAS_LAB: '1' });
    expect(r.out).toContain('wharf: starting Jupyter Lab on port 8888');
    expect(r.out).toContain(`python3 -m jupyterlab --no-browser --allow-root --ServerApp.ip=0.0.0.0 --ServerApp.port=8888 --ServerApp.port_retries=0 --ServerApp.allow_remote_access=True --ServerApp.trust_xheaders=True --ServerApp.root_dir=${r.ws}`);
  });

  it('fails clearly when the init script fails', () => {
    const r = run({ initScript: 'echo trying\nexit 3' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('trying\nwharf: error: the init script failed with exit code 3');
    expect(r.out).not.toContain('starting Jupyter');
  });

  it('installs extra packages into the venv with the system pip and points the kernel at it', () => {
    const r = run({ extraPackages: ['tinypkg==1.0'] }, { PIP_INDEX_URL: 'http://172.17.0.1:1/simple/' });
    expect(r.code).toBe(0);
    const venv = join(r.root, 'venv');
    expect(r.out).toContain('wharf: checking the package index http://172.17.0.1:1/simple/');
    expect(r.out).toContain(`wharf: installing 1 extra package(s) into ${venv}: tinypkg==1.0`);
    expect(r.out).toContain(`python3 -m pip --python ${venv}/bin/python install --disable-pip-version-check --no-input --progress-bar off --retries 1 --timeout 15 tinypkg==1.0`);
    const kernel = JSON.parse(readFileSync(join(r.root, 'jupyter/kernels/python3/kernel.json'), 'utf8'));
    expect(kernel.argv[0]).toBe(`${venv}/bin/python`);
    expect(r.out).toContain('starting Jupyter Notebook');
  });

  it('fails clearly when no package index answers, without showing its credentials', () => {
    const r = run({ extraPackages: ['tinypkg'] }, { NO_INDEX: '1', PIP_INDEX_URL: 'https://user:secret@pypi.internal/simple/' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('wharf: error: no package index reachable at https://***@pypi.internal/simple/');
    expect(r.out).not.toContain('secret');
    expect(r.out).not.toContain('pip --python');
  });

  it('clones git at a commit into the workspace, and keeps a restored clone', () => {
    const fields = { git: { repo: 'https://example.com/repo.git', commit: first } };
    const r = run(fields);
    expect(r.code).toBe(0);
    expect(readFileSync(join(r.ws, 'git_repo/a.txt'), 'utf8')).toBe('one\n');
    expect(r.out).toMatch(new RegExp(`wharf: git: ${r.ws}/git_repo at ${first.slice(0, 7)}\\w* first`));
    expect(existsSync(join(r.ws, 'git_repo_not_synced'))).toBe(false);
  });

  it('clones git outside the workspace with a symlink when it is not stored in snapshots', () => {
    const r = run({ git: { repo: 'https://example.com/repo.git', branch: 'main', storeInSnapshot: false } });
    expect(r.code).toBe(0);
    const outside = join(r.root, 'outside');
    expect(readFileSync(join(outside, 'a.txt'), 'utf8')).toBe('two\n');
    expect(lstatSync(join(r.ws, 'git_repo_not_synced')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(r.ws, 'git_repo_not_synced'))).toBe(outside);
    expect(existsSync(join(r.ws, 'git_repo'))).toBe(false);
  });

  it('skips cloning when the target is there already (a restored workspace)', () => {
    const root = join(dir, `run${n}`);
    execFileSync('mkdir', ['-p', join(root, 'ws/git_repo')]);
    const r = run({ git: { repo: 'https://example.com/repo.git' } });
    expect(r.code).toBe(0);
    expect(r.out).toContain('is there already (restored): not cloned again');
  });

  it('fails clearly on a bad git URL or a missing commit', () => {
    const bad = run({ git: { repo: 'https://127.0.0.1:1/nothing.git' } });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('wharf: error: git clone of https://127.0.0.1:1/nothing.git failed');
    expect(bad.out).not.toContain('starting Jupyter');
    const missing = run({ git: { repo: 'https://example.com/repo.git', commit: 'deadbeefdeadbeef' } });
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('wharf: error: git: commit deadbeefdeadbeef is not in');
  });
});

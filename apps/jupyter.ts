import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ContainerAppConfig, JupyterAppConfig } from '../protocol/app-config.ts';
import type { LaunchSpec } from '../protocol/launch-spec.ts';
import { splitShellWords } from '../protocol/shell-words.ts';
import { Problems, ValidationError } from '../protocol/validate.ts';
import { compileContainer, type CompileOptions } from './container.ts';

/*
 * The jupyter app kind (issue 7): a container app whose command is Wharf's boot script. The
 * image, containerArgs, env, files, idle and workspace fields mean what they mean for a
 * container app (compileContainer does that part); on top of it the boot script
 * (/opt/wharf/boot.sh, bash), with a console line for each step:
 *
 *   1. runs the init script (/opt/wharf/init.sh, bash, in the workspace) when there is one;
 *   2. with extraPackages, makes /opt/wharf/venv (`--without-pip --system-site-packages`,
 *      0.1 s instead of 6 s with pip), installs them with the system pip's `--python` from the
 *      index of the config's env (PIP_INDEX_URL / PIP_TRUSTED_HOST; pip's own default
 *      otherwise), after checking that the index answers, and makes the notebook kernel run
 *      in that venv (a `python3` kernelspec under JUPYTER_PATH=/opt/wharf/jupyter);
 *   3. clones git.repo (at git.branch, then git.commit) into <workspace>/git_repo when
 *      storeInSnapshot, else into /opt/wharf/git_repo with a <workspace>/git_repo_not_synced
 *      symlink; a target that is already there (a restored workspace) is kept;
 *   4. execs the config's `command` when it has one (its own Jupyter server, say; Jupyter reads
 *      JUPYTER_TOKEN from the environment whatever its flags), else
 *      Jupyter Lab when the image has it (`import jupyterlab`), else Jupyter Notebook,
 *      on the routing port, all interfaces, remote access allowed (the Host of the app's own
 *      host name), no browser, rooted in the workspace.
 *
 * A failing step exits non-zero with a line that says which step failed and why, so the
 * instance ends `failed` with it among its last lines.
 *
 * Jupyter keeps its own token (defence in depth): 32 random bytes drawn here, given to the
 * container as JUPYTER_TOKEN (which Jupyter reads, and logs only as "...") and to the route as
 * the header `Authorization: token <T>` (spec.routeHeaders, a secret), so the gateway adds it
 * upstream and a request to the container's published port without it is refused. The
 * agent's probes carry it too, so Jupyter does not log them as refused (`403 GET /api/status`):
 * the activity probe reads it from the spec's env (activity.tokenEnv), the readiness probe
 * sends the route's headers (agent/readiness.ts).
 */

export const BOOT_SCRIPT = '/opt/wharf/boot.sh';
export const INIT_SCRIPT = '/opt/wharf/init.sh';
export const VENV = '/opt/wharf/venv';
export const OUTSIDE_GIT = '/opt/wharf/git_repo';
export const TOKEN_ENV = 'JUPYTER_TOKEN';

/** A bash word: single-quoted, so nothing in it is expanded. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** What the boot script does after its variables, the same for every config (apps/jupyter-boot.sh). */
const BOOT_BODY = readFileSync(new URL('./jupyter-boot.sh', import.meta.url), 'utf8');

/** The boot script of a config: its settings as bash variables, then BOOT_BODY. */
export function bootScript(config: JupyterAppConfig): string {
  const { git } = config;
  const vars: [string, string][] = [
    ['WS', config.workspace.path],
    ['PORT', String(config.routing.port)],
    ['INIT', config.initScript.trim() ? INIT_SCRIPT : ''],
    ['VENV', VENV],
    ['OUTSIDE_GIT', OUTSIDE_GIT],
    ['GIT_REPO', git.repo],
    ['GIT_BRANCH', git.branch],
    ['GIT_COMMIT', git.commit],
    ['GIT_STORE', git.storeInSnapshot ? '1' : '0'],
  ];
  return [
    '#!/bin/bash',
    '# Wharf\'s Jupyter boot script (apps/jupyter.ts): init script, extra packages, git, then Jupyter.',
    ...vars.map(([k, v]) => `${k}=${shellQuote(v)}`),
    `PACKAGES=(${config.extraPackages.map(shellQuote).join(' ')})`,
    `COMMAND=(${splitShellWords(config.command).map(shellQuote).join(' ')})`,
  ].join('\n') + '\n\n' + BOOT_BODY;
}

/**
 * Compiles a jupyter app config (already checked by `parseAppConfig`) into a launch spec.
 * Throws a ValidationError naming each field a jupyter app cannot take: routing other than https, a file at the boot or init
 * script's path; and whatever compileContainer refuses in `containerArgs`.
 */
export function compileJupyter(config: JupyterAppConfig, options: CompileOptions): LaunchSpec {
  const problems = new Problems();
  if (config.routing.mode !== 'https') {
    problems.add('routing.mode', 'must be "https" for jupyter apps: Jupyter is served through the gateway');
  }
  config.files.forEach((file, i) => {
    if (file.path === BOOT_SCRIPT || file.path === INIT_SCRIPT) problems.add(`files[${i}].path`, `"${file.path}" is Wharf's own (the jupyter boot scripts)`);
  });
  const { git: _git, extraPackages: _packages, initScript, app: _app, project: _project, image, ...rest } = config;
  const asContainer: ContainerAppConfig = { ...rest, app: 'container', project: config.project, image, command: '' };
  let base: LaunchSpec | undefined;
  try {
    base = compileContainer(asContainer, options);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const p of err.problems) problems.add(p.field, p.message);
  }
  problems.throwIfAny();
  if (!base) throw new Error('unreachable: compileContainer neither answered nor refused');
  const port = config.routing.port;
  const token = randomBytes(32).toString('hex');
  const files = [...base.files, { path: BOOT_SCRIPT, content: bootScript(config), mode: '0755' }];
  if (initScript.trim()) files.push({ path: INIT_SCRIPT, content: initScript.endsWith('\n') ? initScript : `${initScript}\n`, mode: '0755' });
  return {
    ...base,
    app: 'jupyter',
    argv: ['bash', BOOT_SCRIPT],
    workdir: config.workdir || config.workspace.path,
    env: { ...base.env, [TOKEN_ENV]: token },
    files,
    readiness: { kind: 'http', port, path: '/api/status' },
    activity: { kind: 'jupyter', port, path: '/api/status', tokenEnv: TOKEN_ENV },
    routeHeaders: { Authorization: `token ${token}` },
  };
}

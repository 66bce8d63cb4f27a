import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * bin/wharf, the launcher the README and the banner show: it runs the CLI on the project's
 * Node 24 whatever `node` comes first on PATH (the system's Node 20 cannot run bin/wharf.ts),
 * through a symlink from anywhere, and says what to do when node_modules is missing.
 */

const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const LAUNCHER = join(REPO, 'bin', 'wharf');
/** The system's `node` first, nothing of node_modules, as in a newcomer's shell. */
const PATH = ['/usr/bin', ...(process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules'))].join(':');
const temp = mkdtempSync(join(tmpdir(), 'wharf-launcher-'));

const run = (file: string, args: string[], cwd = temp) => spawnSync(file, args, { cwd, env: { ...process.env, PATH }, encoding: 'utf8' });

describe('bin/wharf', () => {
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('is the package\'s bin, executable', () => {
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin).toEqual({ wharf: 'bin/wharf' });
    expect(statSync(LAUNCHER).mode & 0o755).toBe(0o755);
  });

  it('runs the CLI with the system node first on PATH', () => {
    const r = run(LAUNCHER, ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: wharf COMMAND');
  });

  it('works through a chain of symlinks, as from ~/bin', () => {
    const bin = join(temp, 'home', 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(LAUNCHER, join(temp, 'home', 'wharf-target'));
    symlinkSync('../wharf-target', join(bin, 'wharf')); // relative, resolved from the link's own folder
    const r = spawnSync('wharf', ['up', '--help'], { cwd: tmpdir(), env: { ...process.env, PATH: `${bin}:${PATH}` }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('wharf up [flags]');
  });

  it('says to run npm ci, and where, when node_modules is missing', () => {
    const checkout = join(temp, 'fresh clone');
    cpSync(join(REPO, 'bin'), join(checkout, 'bin'), { recursive: true });
    const r = run(join(checkout, 'bin', 'wharf'), ['ls']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`wharf: Node 24 is not installed in ${checkout}/node_modules: run \`npm ci\` in ${checkout} first`);
  });
});

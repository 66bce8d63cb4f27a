import { describe, expect, it } from 'vitest';
import { cloneAppConfig, LIMITS, parseAppConfig, type JupyterAppConfig } from './app-config.ts';
import { ValidationError } from './validate.ts';

function errorOf(value: unknown, field?: string): ValidationError {
  try {
    parseAppConfig(value, field);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(value).slice(0, 200)} to be refused`);
}

/** The container example of DESIGN.md, verbatim. */
const DESIGN_CONTAINER = {
  kind: 'wharf.app-config', version: 1, app: 'container',
  name: 'my session', project: 'Apps', tags: ['demo'], queue: 'default',
  image: 'wharf/busybox:local',
  command: "sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'",
  workdir: '/', containerArgs: '--shm-size 256m --cpus 1',
  env: { KEY: 'value' },
  files: [{ path: '/etc/app.ini', content: 'a=1\n', mode: '0644' }],
  routing: { mode: 'https', port: 8080 },
  idle: { maxHours: 2, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 },
  workspace: { path: '/root/workspace', restoreFrom: null, exclude: ['.cache'] },
};

/** The jupyter example of DESIGN.md: the container fields plus its own. */
const DESIGN_JUPYTER = {
  ...DESIGN_CONTAINER,
  app: 'jupyter', project: 'Interactive Session', image: 'wharf/jupyter:local', command: '', containerArgs: '',
  routing: { mode: 'https', port: 8888 },
  git: { repo: 'https://example.com/team/notebooks.git', branch: 'main', commit: '', storeInSnapshot: true },
  extraPackages: ['pandas'], initScript: '#!/bin/bash\necho ready',
};

const minimal = { app: 'container', image: 'wharf/busybox:local', routing: { port: 8080 } };

describe('parseAppConfig', () => {
  it('accepts the complete examples of DESIGN.md unchanged', () => {
    expect(parseAppConfig(DESIGN_CONTAINER)).toEqual(DESIGN_CONTAINER);
    expect(parseAppConfig(DESIGN_JUPYTER)).toEqual(DESIGN_JUPYTER);
  });

  it('fills every default of a container config', () => {
    expect(parseAppConfig(minimal)).toEqual({
      kind: 'wharf.app-config', version: 1, app: 'container',
      name: '', project: 'Apps', tags: [], queue: 'default',
      image: 'wharf/busybox:local', command: '', workdir: '', containerArgs: '', env: {}, files: [],
      routing: { mode: 'https', port: 8080 },
      idle: { maxHours: 24, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 },
      workspace: { path: '/root/workspace', restoreFrom: null, exclude: [] },
    });
  });

  it('fills every default of a jupyter config, image and port included', () => {
    expect(parseAppConfig({ app: 'jupyter' })).toEqual({
      kind: 'wharf.app-config', version: 1, app: 'jupyter',
      name: '', project: 'Interactive Session', tags: [], queue: 'default',
      image: 'wharf/jupyter:local', command: '', workdir: '', containerArgs: '', env: {}, files: [],
      routing: { mode: 'https', port: 8888 },
      idle: { maxHours: 24, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 },
      workspace: { path: '/root/workspace', restoreFrom: null, exclude: [] },
      git: { repo: '', branch: '', commit: '', storeInSnapshot: true },
      extraPackages: [], initScript: '',
    });
  });

  it('fills defaults inside files and partial nested objects', () => {
    const config = parseAppConfig({ ...minimal, files: [{ path: '/a', content: '' }], idle: { maxHours: 0.005 }, workspace: { exclude: ['x'] } });
    expect(config.files).toEqual([{ path: '/a', content: '', mode: '0644' }]);
    expect(config.idle).toEqual({ maxHours: 0.005, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 });
    expect(config.workspace).toEqual({ path: '/root/workspace', restoreFrom: null, exclude: ['x'] });
  });

  it('makes export(import(x)) a fixed point, key order included', () => {
    for (const input of [minimal, DESIGN_CONTAINER, DESIGN_JUPYTER, { app: 'jupyter' }, { app: 'container', image: 'x', routing: { mode: 'none' } }]) {
      const exported = parseAppConfig(input);
      const reimported = parseAppConfig(JSON.parse(JSON.stringify(exported)));
      expect(reimported).toEqual(exported);
      expect(JSON.stringify(reimported)).toBe(JSON.stringify(exported));
    }
  });

  it('writes the fields in the order of DESIGN.md whatever the input order', () => {
    const config = parseAppConfig({ routing: { port: 1, mode: 'tcp' }, image: 'x', app: 'container', files: [{ mode: '0600', content: '', path: '/a' }] });
    expect(Object.keys(config)).toEqual(Object.keys(DESIGN_CONTAINER));
    expect(Object.keys(config.routing)).toEqual(['mode', 'port']);
    expect(Object.keys(config.files[0])).toEqual(['path', 'content', 'mode']);
    expect(Object.keys(parseAppConfig({ app: 'jupyter' }))).toEqual(Object.keys(DESIGN_JUPYTER));
  });

  it('does not modify its input', () => {
    const input = structuredClone(minimal);
    parseAppConfig(input);
    expect(input).toEqual(minimal);
  });

  it('needs no port when routing is none', () => {
    expect(parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' } }).routing).toEqual({ mode: 'none' });
  });

  it('accepts values at the edges of the limits', () => {
    const config = parseAppConfig({
      ...minimal,
      name: 'n'.repeat(LIMITS.nameChars),
      tags: Array.from({ length: LIMITS.tags }, (_, i) => `t${i}`.padEnd(LIMITS.tagChars, 'x')),
      env: Object.fromEntries(Array.from({ length: LIMITS.envVars }, (_, i) => [`V${i}`, 'x'])),
      files: [{ path: '/a', content: 'a'.repeat(LIMITS.filesBytes - 1) }, { path: '/b', content: 'b' }],
      routing: { mode: 'tcp', port: 65535 },
    });
    expect(config.tags).toHaveLength(LIMITS.tags);
  });

  it('accepts the pip requirements people write', () => {
    const extraPackages = ['pandas', 'pandas==2.2.1', 'numpy>=1.26,<2', 'requests[socks,security]', 'scikit-learn~=1.4', 'torch==2.3.0+cpu', 'Django!=4.0.*', 'zope.interface', 'a_b-c.d===1!2.0'];
    expect((parseAppConfig({ app: 'jupyter', extraPackages }) as JupyterAppConfig).extraPackages).toEqual(extraPackages);
  });

  it('accepts a repository with a branch and a commit', () => {
    const git = { repo: 'https://github.com/org/repo.git', branch: 'feature/x-1.2', commit: 'abc1234', storeInSnapshot: false };
    expect((parseAppConfig({ app: 'jupyter', git }) as JupyterAppConfig).git).toEqual(git);
  });

  it('prefixes every field path when asked', () => {
    expect(errorOf({ ...minimal, routing: { mode: 'udp' } }, 'config').field).toBe('config.routing.mode');
    expect(errorOf({ ...minimal, routing: {} }, 'config').field).toBe('config.routing.port');
    expect(errorOf({ image: 'x' }, 'config').field).toBe('config.app');
    expect(errorOf({ ...minimal, env: { '1X': '' } }, 'config').field).toBe('config.env.1X');
  });

  it('refuses with a coded error whose message starts with the field', () => {
    const err = errorOf({ ...minimal, routing: { mode: 'udp', port: 1 } });
    expect(err.code).toBe('WHARF_INVALID');
    expect(err.message).toBe('routing.mode: must be "none", "tcp" or "https"');
  });

  const big = 'x'.repeat(LIMITS.filesBytes);
  const refusals: [string, unknown, string][] = [
    ['a config that is not an object', [], ''],
    ['a missing app', { image: 'x' }, 'app'],
    ['an unknown app', { app: 'vm', image: 'x' }, 'app'],
    ['a wrong kind', { ...minimal, kind: 'something' }, 'kind'],
    ['another version', { ...minimal, version: 2 }, 'version'],
    ['an unknown field', { ...minimal, colour: 'red' }, 'colour'],
    ['a jupyter field on a container', { ...minimal, git: {} }, 'git'],
    ['an unknown nested field', { ...minimal, routing: { port: 1, host: 'x' } }, 'routing.host'],
    ['an unknown field in a file', { ...minimal, files: [{ path: '/a', content: '', owner: 'root' }] }, 'files[0].owner'],
    ['a name that is not a string', { ...minimal, name: 5 }, 'name'],
    ['a name on two lines', { ...minimal, name: 'a\nb' }, 'name'],
    ['a long name', { ...minimal, name: 'n'.repeat(LIMITS.nameChars + 1) }, 'name'],
    ['an empty project', { ...minimal, project: '' }, 'project'],
    ['tags that are not a list', { ...minimal, tags: 'demo' }, 'tags'],
    ['too many tags', { ...minimal, tags: Array.from({ length: LIMITS.tags + 1 }, (_, i) => `t${i}`) }, 'tags'],
    ['a repeated tag', { ...minimal, tags: ['a', 'a'] }, 'tags'],
    ['a long tag', { ...minimal, tags: ['ok', 't'.repeat(LIMITS.tagChars + 1)] }, 'tags[1]'],
    ['an empty tag', { ...minimal, tags: [''] }, 'tags[0]'],
    ['a queue with a comma', { ...minimal, queue: 'a,b' }, 'queue'],
    ['a missing image', { app: 'container', routing: { port: 1 } }, 'image'],
    ['an image with spaces', { ...minimal, image: 'my image' }, 'image'],
    ['an image in upper case', { ...minimal, image: 'Wharf/Busybox' }, 'image'],
    ['an image that is an option', { ...minimal, image: '--privileged' }, 'image'],
    ['an unterminated quote in command', { ...minimal, command: "sh -c 'echo" }, 'command'],
    ['a command that is not a string', { ...minimal, command: ['sh'] }, 'command'],
    ['a relative workdir', { ...minimal, workdir: 'srv' }, 'workdir'],
    ['a workdir with ..', { ...minimal, workdir: '/srv/../etc' }, 'workdir'],
    ['an unterminated quote in containerArgs', { ...minimal, containerArgs: '--label "a=b' }, 'containerArgs'],
    ['env that is not an object', { ...minimal, env: ['A=1'] }, 'env'],
    ['an env name with a dash', { ...minimal, env: { 'A-B': '1' } }, 'env.A-B'],
    ['an env name starting with a digit', { ...minimal, env: { OK: '1', '1A': '1' } }, 'env.1A'],
    ['an empty env name', { ...minimal, env: { '': '1' } }, 'env.'],
    ['an env value that is a number', { ...minimal, env: { PORT: 8080 } }, 'env.PORT'],
    ['an env value with NUL', { ...minimal, env: { A: 'a\0b' } }, 'env.A'],
    ['too many env vars', { ...minimal, env: Object.fromEntries(Array.from({ length: LIMITS.envVars + 1 }, (_, i) => [`V${i}`, ''])) }, 'env'],
    ['files that are not a list', { ...minimal, files: {} }, 'files'],
    ['files that are a string', { ...minimal, files: 'x' }, 'files'],
    ['tags that are an object', { ...minimal, tags: {} }, 'tags'],
    ['idle that is a list', { ...minimal, idle: [] }, 'idle'],
    ['a workspace that is a list', { ...minimal, workspace: [] }, 'workspace'],
    ['a workspace exclude that is an object', { ...minimal, workspace: { exclude: {} } }, 'workspace.exclude'],
    ['a file that is a list', { ...minimal, files: [[]] }, 'files[0]'],
    ['env that is an empty list', { ...minimal, env: [] }, 'env'],
    ['git that is a list', { app: 'jupyter', git: [] }, 'git'],
    ['extraPackages that are an object', { app: 'jupyter', extraPackages: {} }, 'extraPackages'],
    ['a file without content', { ...minimal, files: [{ path: '/a' }] }, 'files[0].content'],
    ['a relative file path', { ...minimal, files: [{ path: 'etc/x', content: '' }] }, 'files[0].path'],
    ['a file path with ..', { ...minimal, files: [{ path: '/a', content: '' }, { path: '/etc/../x', content: '' }] }, 'files[1].path'],
    ['a file path with .', { ...minimal, files: [{ path: '/etc/./x', content: '' }] }, 'files[0].path'],
    ['a file path with //', { ...minimal, files: [{ path: '/etc//x', content: '' }] }, 'files[0].path'],
    ['a file path with NUL', { ...minimal, files: [{ path: '/a\0b', content: '' }] }, 'files[0].path'],
    ['a file path that is a folder', { ...minimal, files: [{ path: '/etc/', content: '' }] }, 'files[0].path'],
    ['the same file twice', { ...minimal, files: [{ path: '/a', content: '' }, { path: '/a', content: '' }] }, 'files[1].path'],
    ['a mode without the leading 0', { ...minimal, files: [{ path: '/a', content: '', mode: '644' }] }, 'files[0].mode'],
    ['a setuid mode', { ...minimal, files: [{ path: '/a', content: '', mode: '04755' }] }, 'files[0].mode'],
    ['a numeric mode', { ...minimal, files: [{ path: '/a', content: '', mode: 420 }] }, 'files[0].mode'],
    ['a mode with 8', { ...minimal, files: [{ path: '/a', content: '', mode: '0648' }] }, 'files[0].mode'],
    ['too many files', { ...minimal, files: Array.from({ length: LIMITS.files + 1 }, (_, i) => ({ path: `/f${i}`, content: '' })) }, 'files'],
    ['more than 1 MiB of contents', { ...minimal, files: [{ path: '/a', content: big }, { path: '/b', content: 'x' }] }, 'files[1].content'],
    ['1 MiB counted in UTF-8 bytes', { ...minimal, files: [{ path: '/a', content: 'é'.repeat(LIMITS.filesBytes / 2 + 1) }] }, 'files[0].content'],
    ['an unknown routing mode', { ...minimal, routing: { mode: 'udp', port: 1 } }, 'routing.mode'],
    ['no routing at all', { app: 'container', image: 'x' }, 'routing.port'],
    ['a tcp route without a port', { ...minimal, routing: { mode: 'tcp' } }, 'routing.port'],
    ['port 0', { ...minimal, routing: { port: 0 } }, 'routing.port'],
    ['port 65536', { ...minimal, routing: { port: 65536 } }, 'routing.port'],
    ['a fractional port', { ...minimal, routing: { port: 80.5 } }, 'routing.port'],
    ['a port in a string', { ...minimal, routing: { port: '8080' } }, 'routing.port'],
    ['routing that is not an object', { ...minimal, routing: 'https' }, 'routing'],
    ['idle.maxHours 0', { ...minimal, idle: { maxHours: 0 } }, 'idle.maxHours'],
    ['a negative idle.maxHours', { ...minimal, idle: { maxHours: -1 } }, 'idle.maxHours'],
    ['idle.maxHours past a year', { ...minimal, idle: { maxHours: LIMITS.maxHours + 1 } }, 'idle.maxHours'],
    ['idle.maxHours in a string', { ...minimal, idle: { maxHours: '2' } }, 'idle.maxHours'],
    ['a negative idle.networkMBps', { ...minimal, idle: { networkMBps: -0.1 } }, 'idle.networkMBps'],
    ['a negative idle.cpuPercent', { ...minimal, idle: { cpuPercent: -1 } }, 'idle.cpuPercent'],
    ['idle.gpuPercent past 100', { ...minimal, idle: { gpuPercent: 101 } }, 'idle.gpuPercent'],
    ['an unknown idle field', { ...minimal, idle: { memoryPercent: 1 } }, 'idle.memoryPercent'],
    ['a relative workspace path', { ...minimal, workspace: { path: 'work' } }, 'workspace.path'],
    ['the root as workspace', { ...minimal, workspace: { path: '/' } }, 'workspace.path'],
    ['a workspace path with ..', { ...minimal, workspace: { path: '/root/../etc' } }, 'workspace.path'],
    ['restoreFrom that is not an id', { ...minimal, workspace: { restoreFrom: 'Not An Id' } }, 'workspace.restoreFrom'],
    ['restoreFrom that is a number', { ...minimal, workspace: { restoreFrom: 5 } }, 'workspace.restoreFrom'],
    ['an absolute exclude', { ...minimal, workspace: { exclude: ['/etc'] } }, 'workspace.exclude[0]'],
    ['an exclude leaving the workspace', { ...minimal, workspace: { exclude: ['ok', 'a/../../x'] } }, 'workspace.exclude[1]'],
    ['an empty exclude', { ...minimal, workspace: { exclude: [''] } }, 'workspace.exclude[0]'],
    ['a jupyter image with spaces', { app: 'jupyter', image: 'a b' }, 'image'],
    ['a git repo over http', { app: 'jupyter', git: { repo: 'http://example.com/r.git' } }, 'git.repo'],
    ['a git repo over ssh', { app: 'jupyter', git: { repo: 'git@github.com:org/r.git' } }, 'git.repo'],
    ['a git repo with a token', { app: 'jupyter', git: { repo: 'https://user:token@example.com/r.git' } }, 'git.repo'],
    ['a git repo that is not a URL', { app: 'jupyter', git: { repo: 'https://exa mple' } }, 'git.repo'],
    ['a branch without a repo', { app: 'jupyter', git: { branch: 'main' } }, 'git.branch'],
    ['a commit without a repo', { app: 'jupyter', git: { commit: 'abc1234' } }, 'git.commit'],
    ['a branch that is an option', { app: 'jupyter', git: { repo: 'https://x/r', branch: '-x' } }, 'git.branch'],
    ['a branch with ..', { app: 'jupyter', git: { repo: 'https://x/r', branch: 'a..b' } }, 'git.branch'],
    ['a branch ending in .lock', { app: 'jupyter', git: { repo: 'https://x/r', branch: 'a.lock' } }, 'git.branch'],
    ['a branch with a space', { app: 'jupyter', git: { repo: 'https://x/r', branch: 'a b' } }, 'git.branch'],
    ['a short commit', { app: 'jupyter', git: { repo: 'https://x/r', commit: 'abc' } }, 'git.commit'],
    ['a commit that is not hex', { app: 'jupyter', git: { repo: 'https://x/r', commit: 'main~1' } }, 'git.commit'],
    ['storeInSnapshot in a string', { app: 'jupyter', git: { storeInSnapshot: 'yes' } }, 'git.storeInSnapshot'],
    ['an unknown git field', { app: 'jupyter', git: { depth: 1 } }, 'git.depth'],
    ['extraPackages that are a string', { app: 'jupyter', extraPackages: 'pandas' }, 'extraPackages'],
    ['a pip option', { app: 'jupyter', extraPackages: ['pandas', '-r'] }, 'extraPackages[1]'],
    ['a pip long option', { app: 'jupyter', extraPackages: ['--index-url=https://evil'] }, 'extraPackages[0]'],
    ['a requirement with a space', { app: 'jupyter', extraPackages: ['pandas >= 2'] }, 'extraPackages[0]'],
    ['a requirement with a marker', { app: 'jupyter', extraPackages: ['pandas;python_version<"3.8"'] }, 'extraPackages[0]'],
    ['a requirement with a semicolon', { app: 'jupyter', extraPackages: ['pandas;id'] }, 'extraPackages[0]'],
    ['a requirement with a command substitution', { app: 'jupyter', extraPackages: ['$(id)'] }, 'extraPackages[0]'],
    ['a requirement with backquotes', { app: 'jupyter', extraPackages: ['`id`'] }, 'extraPackages[0]'],
    ['a requirement with a pipe', { app: 'jupyter', extraPackages: ['a|b'] }, 'extraPackages[0]'],
    ['a requirement with &&', { app: 'jupyter', extraPackages: ['a&&b'] }, 'extraPackages[0]'],
    ['a requirement that is a URL', { app: 'jupyter', extraPackages: ['git+https://example.com/x.git'] }, 'extraPackages[0]'],
    ['a requirement that is a path', { app: 'jupyter', extraPackages: ['./local'] }, 'extraPackages[0]'],
    ['an empty requirement', { app: 'jupyter', extraPackages: [''] }, 'extraPackages[0]'],
    ['too many requirements', { app: 'jupyter', extraPackages: Array.from({ length: LIMITS.extraPackages + 1 }, (_, i) => `p${i}`) }, 'extraPackages'],
    ['an initScript that is not a string', { app: 'jupyter', initScript: ['echo'] }, 'initScript'],
    ['an initScript with NUL', { app: 'jupyter', initScript: 'a\0b' }, 'initScript'],
  ];

  it.each(refusals)('refuses %s, naming the field', (_, value, field) => {
    const err = errorOf(value);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(field ? `${field}: ` : '')).toBe(true);
  });
});

describe('parseAppConfig with several mistakes', () => {
  it('reports every one at once, each unknown field with the known field it is closest to', () => {
    const err = errorOf({ ...minimal, comand: 'sleep 1', routing: { prot: 8080 }, image: 'My Image', idle: { maxHours: 0 } });
    expect(err.problems).toEqual([
      { field: 'comand', message: 'unknown field (did you mean command?)', suggestion: 'command' },
      { field: 'image', message: 'must be a Docker image reference such as wharf/busybox:local' },
      { field: 'routing.prot', message: 'unknown field (did you mean routing.port?)', suggestion: 'routing.port' },
      { field: 'idle.maxHours', message: expect.stringMatching(/^must be a number of hours above 0/) },
    ]);
    expect(err.field).toBe('comand');
    expect(err.message).toBe(err.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  });

  it('finds unknown fields at any depth (a required field misspelt is said once), and names another kind\'s field as such', () => {
    const err = errorOf({ app: 'jupyter', git: { repo: 'https://x/r', brnch: 'main' }, files: [{ path: '/a', contnet: '' }], workspace: { restorefrom: 'a1' } });
    expect(err.problems.map((p) => [p.field, p.suggestion])).toEqual([
      ['files[0].contnet', 'files[0].content'],
      ['workspace.restorefrom', 'workspace.restoreFrom'],
      ['git.brnch', 'git.branch'],
    ]);
    const container = errorOf({ ...minimal, extraPackages: ['pandas'], colour: 'red' });
    expect(container.problems).toEqual([
      { field: 'extraPackages', message: 'unknown field for container apps (a field of jupyter apps: set "app" to use it)' },
      { field: 'colour', message: 'unknown field' },
    ]);
  });

  it('runs the checks in words on every field the schema let through, and not again on one it refused', () => {
    const err = errorOf({
      ...minimal,
      command: "sh -c 'echo", workdir: '/a/../b', env: { OK: 1, '1X': '' },
      files: [{ path: '/a/', content: '' }, { path: 5, content: '' }, { path: '/a/', content: '' }],
      workspace: { path: '/', exclude: ['../x'] },
    });
    expect(err.problems.map((p) => p.field)).toEqual([
      'env.OK', 'files[1].path', 'command', 'workdir', 'env.1X', 'files[0].path', 'files[2].path', 'workspace.path', 'workspace.exclude[0]',
    ]);
    expect(errorOf({ app: 'jupyter', git: { repo: 'https://u:p@x/r', branch: 'a..b', comit: '' } }).problems.map((p) => p.field))
      .toEqual(['git.comit', 'git.repo', 'git.branch']);
  });

  it('says a mistake once, where the value as a whole is the wrong kind of thing', () => {
    expect(errorOf({ ...minimal, files: {}, idle: [], routing: 'https' }).problems.map((p) => p.field)).toEqual(['files', 'routing', 'idle']);
    expect(errorOf({ ...minimal, files: [null, 'x', { path: '/a/../b', content: '' }] }).problems.map((p) => p.field)).toEqual(['files[0]', 'files[1]', 'files[2].path']);
  });

  it('asks for the port beside another routing mistake, unless a misspelt field was meant to be it', () => {
    expect(errorOf({ ...minimal, routing: { mode: 'tcp', colour: 1 } }).problems.map((p) => p.field)).toEqual(['routing.colour', 'routing.port']);
    expect(errorOf({ ...minimal, routing: { mode: 'tcp', prot: 1 } }).problems.map((p) => p.field)).toEqual(['routing.prot']);
  });
});

describe('cloneAppConfig', () => {
  it('returns the same config restoring from the source instance', () => {
    const source = parseAppConfig(DESIGN_CONTAINER);
    const clone = cloneAppConfig(source, 'abc123');
    expect(clone).toEqual({ ...source, workspace: { ...source.workspace, restoreFrom: 'abc123' } });
    expect(source.workspace.restoreFrom).toBeNull();
  });

  it('refuses a source that is not an instance id', () => {
    expect(() => cloneAppConfig(parseAppConfig(minimal), 'Bad Id')).toThrow(ValidationError);
  });
});

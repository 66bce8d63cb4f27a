import { describe, expect, it } from 'vitest';
import { parseAppConfig, type ContainerAppConfig } from '../protocol/app-config.ts';
import { parseLaunchSpec } from '../protocol/launch-spec.ts';
import { ValidationError } from '../protocol/validate.ts';
import { compileContainer } from './container.ts';
import { compileApp, COMPILERS } from './index.ts';
import { fieldOf } from '../test/support/validation.ts';

const MIB = 1024 ** 2;

function config(fields: object = {}): ContainerAppConfig {
  return parseAppConfig({ app: 'container', image: 'wharf/busybox:local', routing: { port: 8080 }, ...fields }) as ContainerAppConfig;
}


describe('compileContainer', () => {
  it('compiles the example of DESIGN.md', () => {
    const spec = compileContainer(config({
      name: 'my session', tags: ['demo'],
      command: "sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'",
      workdir: '/', containerArgs: '--shm-size 256m --cpus 1',
      env: { KEY: 'value' },
      files: [{ path: '/etc/app.ini', content: 'a=1\n', mode: '0644' }],
      routing: { mode: 'https', port: 8080 },
      idle: { maxHours: 2 },
      workspace: { exclude: ['.cache'] },
    }), { admin: false });
    expect(spec).toEqual({
      app: 'container',
      image: 'wharf/busybox:local',
      argv: ['sh', '-c', 'mkdir -p /www && httpd -f -p 8080 -h /www'],
      workdir: '/',
      env: { KEY: 'value' },
      files: [{ path: '/etc/app.ini', content: 'a=1\n', mode: '0644' }],
      ports: [{ port: 8080, routing: 'https' }],
      workspace: { path: '/root/workspace', restoreFrom: null, exclude: ['.cache'] },
      readiness: { kind: 'http', port: 8080, path: '/' },
      activity: { kind: 'none' },
      limits: { memory: null, nanoCpus: 1_000_000_000 },
      labels: {},
      docker: { HostConfig: { ShmSize: 256 * MIB } },
      hostAccess: [],
    });
    expect(parseLaunchSpec(spec)).toEqual(spec);
  });

  it('keeps the image entrypoint, command and workdir when the config gives none', () => {
    const spec = compileContainer(config(), { admin: false });
    expect(spec.argv).toBeNull();
    expect(spec.workdir).toBeNull();
    expect(spec.limits).toEqual({ memory: null, nanoCpus: null });
    expect(spec.docker).toEqual({ HostConfig: {} });
    expect(compileContainer(config({ command: '  \n' }), { admin: false }).argv).toBeNull();
  });

  it('probes tcp apps with a connection and unrouted apps not at all', () => {
    const tcp = compileContainer(config({ routing: { mode: 'tcp', port: 6379 } }), { admin: false });
    expect(tcp.ports).toEqual([{ port: 6379, routing: 'tcp' }]);
    expect(tcp.readiness).toEqual({ kind: 'tcp', port: 6379 });
    const none = compileContainer(config({ routing: { mode: 'none' } }), { admin: false });
    expect(none.ports).toEqual([]);
    expect(none.readiness).toEqual({ kind: 'none' });
    // A port kept with mode none is not published.
    expect(compileContainer(config({ routing: { mode: 'none', port: 80 } }), { admin: false }).ports).toEqual([]);
  });

  it('moves container args into env, labels, workdir, limits and Docker options', () => {
    const spec = compileContainer(config({
      containerArgs: '-e FROM_ARGS=1 -e SHARED=args -l team=ml -w /srv -m 512m --cpus 0.5 -u 1000:1000 --hostname lab -v /cache --read-only',
      env: { SHARED: 'env' },
    }), { admin: false });
    expect(spec.env).toEqual({ FROM_ARGS: '1', SHARED: 'env' });
    expect(spec.labels).toEqual({ team: 'ml' });
    expect(spec.workdir).toBe('/srv');
    expect(spec.limits).toEqual({ memory: 512 * MIB, nanoCpus: 500_000_000 });
    expect(spec.docker).toEqual({ User: '1000:1000', Hostname: 'lab', Volumes: { '/cache': {} }, HostConfig: { ReadonlyRootfs: true } });
    expect(parseLaunchSpec(spec)).toEqual(spec);
  });

  it('lets the config workdir win over -w', () => {
    expect(compileContainer(config({ workdir: '/app', containerArgs: '-w /srv' }), { admin: false }).workdir).toBe('/app');
  });

  it('refuses host access to non-admins on field containerArgs and records it for admins', () => {
    const privileged = config({ containerArgs: '--privileged -v /srv:/srv' });
    const err = (() => {
      try {
        compileContainer(privileged, { admin: false });
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.field).toBe('containerArgs');
    expect(err.message).toMatch(/^containerArgs: --privileged gives the container access to the host/);
    const spec = compileContainer(privileged, { admin: true });
    expect(spec.hostAccess).toEqual(['privileged', 'bind-mount']);
    expect(spec.docker.HostConfig).toEqual({ Privileged: true, Binds: ['/srv:/srv'] });
    expect(parseLaunchSpec(spec)).toEqual(spec);
  });

  it('refuses an unsupported flag on field containerArgs', () => {
    expect(fieldOf(() => compileContainer(config({ containerArgs: '--foo' }), { admin: true }))).toBe('containerArgs');
  });

  it('names every mistake at once: a missing port and a bad flag', () => {
    const unrouted = { ...config({ containerArgs: '--foo' }), routing: { mode: 'https' } } as ContainerAppConfig;
    let caught: unknown;
    try {
      compileContainer(unrouted, { admin: false });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).problems.map((p) => p.field)).toEqual(['routing.port', 'containerArgs']);
  });

  it('refuses --network none for a routed app', () => {
    expect(fieldOf(() => compileContainer(config({ containerArgs: '--network none' }), { admin: false }))).toBe('containerArgs');
    expect(compileContainer(config({ containerArgs: '--network none', routing: { mode: 'none' } }), { admin: false }).docker.HostConfig.NetworkMode).toBe('none');
  });

  it('does not share arrays or objects with the config', () => {
    const source = config({ files: [{ path: '/a', content: 'x' }], workspace: { exclude: ['.cache'] } });
    const spec = compileContainer(source, { admin: false });
    spec.files[0].content = 'changed';
    spec.workspace.exclude.push('more');
    expect(source.files[0].content).toBe('x');
    expect(source.workspace.exclude).toEqual(['.cache']);
  });

  it('carries restoreFrom through', () => {
    expect(compileContainer(config({ workspace: { restoreFrom: 'abc123' } }), { admin: false }).workspace.restoreFrom).toBe('abc123');
  });
});

describe('compileApp', () => {
  it('compiles by app kind', () => {
    expect(COMPILERS.container).toBe(compileContainer);
    expect(compileApp(config(), { admin: false }).app).toBe('container');
  });

  it('compiles every kind', () => {
    expect(compileApp(parseAppConfig({ app: 'jupyter' }), { admin: false }).app).toBe('jupyter');
  });
});

describe('parseLaunchSpec', () => {
  it('refuses a spec with a wrong field, naming it', () => {
    const spec = compileContainer(config(), { admin: false });
    expect(fieldOf(() => parseLaunchSpec({ ...spec, argv: [] }))).toBe('spec.argv');
    expect(fieldOf(() => parseLaunchSpec({ ...spec, readiness: { kind: 'http', port: 1 } }))).toBe('spec.readiness');
    expect(fieldOf(() => parseLaunchSpec({ ...spec, limits: { memory: '1g', nanoCpus: null } }))).toBe('spec.limits.memory');
    expect(fieldOf(() => parseLaunchSpec({ ...spec, docker: { HostConfig: { Foo: 1 } } }))).toBe('spec.docker.HostConfig.Foo');
  });
});

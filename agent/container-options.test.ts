import { describe, expect, it } from 'vitest';
import { compileApp } from '../apps/index.ts';
import { parseAppConfig } from '../protocol/app-config.ts';
import { adoptedSpec, containerOptions, publishedPort, type HostDefaults } from './container-options.ts';

const host: HostDefaults = { agentId: 'a-1', labels: [['fleet', 'eu'], ['wharf.test', 't1']], bind: '127.0.0.1', network: 'wharf-apps', memory: 512 * 1024 ** 2, nanoCpus: 1e9 };
const spec = (fields: object, admin = false) => compileApp(parseAppConfig({ app: 'container', image: 'wharf/busybox:local', ...fields }), { admin });

describe('containerOptions', () => {
  it('turns a launch spec into the Engine\'s create body with contract labels, defaults and a published port', () => {
    const o = containerOptions('i-abc', spec({
      command: `sh -c 'echo "$1"' sh 'a b'`, workdir: '/srv', env: { KEY: 'v=1' }, containerArgs: '--shm-size 256m -l team=ml',
      routing: { mode: 'https', port: 8080 },
    }), host);
    expect(o.name).toBe('wharf-i-abc');
    expect(o.Image).toBe('wharf/busybox:local');
    expect(o.Entrypoint).toEqual(['sh']);
    expect(o.Cmd).toEqual(['-c', 'echo "$1"', 'sh', 'a b']);
    expect(o.WorkingDir).toBe('/srv');
    expect(o.Env).toEqual(['KEY=v=1']);
    expect(o.Labels).toMatchObject({ team: 'ml', fleet: 'eu', 'wharf.test': 't1', 'wharf.type': 'application', 'wharf.instance': 'i-abc', 'wharf.agent': 'a-1' });
    expect(o.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(o.HostConfig).toMatchObject({
      ShmSize: 256 * 1024 ** 2, Memory: 512 * 1024 ** 2, NanoCpus: 1e9, Init: true, RestartPolicy: { Name: 'no' },
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    });
  });

  it('keeps the app\'s own limits over the agent\'s defaults', () => {
    const o = containerOptions('i-abc', spec({ containerArgs: '--memory 1g --cpus 0.5', routing: { mode: 'none' } }), host);
    expect(o.HostConfig).toMatchObject({ Memory: 1024 ** 3, NanoCpus: 5e8 });
    expect(o.ExposedPorts).toEqual({});
    expect(o.HostConfig!.PortBindings).toEqual({});
  });

  it('keeps the image\'s entrypoint and workdir when the config sets none', () => {
    const o = containerOptions('i-abc', spec({ routing: { mode: 'none' } }), host);
    expect(o).not.toHaveProperty('Entrypoint');
    expect(o).not.toHaveProperty('Cmd');
    expect(o).not.toHaveProperty('WorkingDir');
  });

  it('lets neither the app nor WHARF_LABELS fake whose container it is', () => {
    // containerArgs refuses wharf.* labels already; a spec is checked again here, whoever made it.
    const forged = { ...spec({ routing: { mode: 'none' } }), labels: { 'wharf.instance': 'i-other', 'wharf.agent': 'a-2' } };
    const o = containerOptions('i-abc', forged, { ...host, labels: [['wharf.type', 'other']] });
    expect(o.Labels).toMatchObject({ 'wharf.type': 'application', 'wharf.instance': 'i-abc', 'wharf.agent': 'a-1' });
  });

  it('publishes nothing with --network host: the app listens on the host', () => {
    const o = containerOptions('i-abc', spec({ containerArgs: '--network host', routing: { mode: 'tcp', port: 9000 } }, true), host);
    expect(o.ExposedPorts).toEqual({});
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'host', PortBindings: {} });
  });

  it('puts every app on Wharf\'s app network, "bridge" included; host and none stay as asked', () => {
    expect(containerOptions('i-abc', spec({ routing: { mode: 'none' } }), host).HostConfig!.NetworkMode).toBe('wharf-apps');
    expect(containerOptions('i-abc', spec({ routing: { mode: 'none' }, containerArgs: '--network bridge' }), host).HostConfig!.NetworkMode).toBe('wharf-apps');
    // A spec stored before "bridge" meant the app network says so literally.
    const old = spec({ routing: { mode: 'none' } });
    old.docker.HostConfig.NetworkMode = 'bridge';
    expect(containerOptions('i-abc', old, host).HostConfig!.NetworkMode).toBe('wharf-apps');
    expect(containerOptions('i-abc', spec({ routing: { mode: 'none' }, containerArgs: '--network none' }), host).HostConfig!.NetworkMode).toBe('none');
  });

  it('drops NET_RAW unless the spec gives it back', () => {
    const capDrop = (containerArgs: string, admin = false) => containerOptions('i-abc', spec({ routing: { mode: 'none' }, containerArgs }, admin), host).HostConfig!.CapDrop;
    expect(capDrop('')).toEqual(['NET_RAW']);
    expect(capDrop('--cap-drop CHOWN')).toEqual(['CHOWN', 'NET_RAW']);
    expect(capDrop('--cap-drop ALL')).toEqual(['ALL']);
    expect(capDrop('--cap-drop NET_RAW')).toEqual(['NET_RAW']);
    expect(capDrop('--cap-add NET_RAW', true)).toEqual([]);
    expect(capDrop('--cap-add ALL', true)).toEqual([]);
    expect(capDrop('--privileged', true)).toEqual([]);
    expect(capDrop('--cap-add NET_ADMIN', true)).toEqual(['NET_RAW']);
  });

  it('labels a user\'s own volume with WHARF_LABELS and its type, its owner kept', () => {
    const s = compileApp(parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' }, containerArgs: '-v data:/data -v /anon' }), { admin: false, owner: 'u-bob12345' });
    const forged = { ...host, labels: [...host.labels, ['wharf.owner', 'u-alice123']] as [string, string][] };
    const mounts = containerOptions('i-abc', s, forged).HostConfig!.Mounts as unknown as Record<string, unknown>[];
    expect(mounts[0]).toEqual({
      Type: 'volume', Source: 'wharf-u-bob12345.data', Target: '/data',
      VolumeOptions: { Labels: { fleet: 'eu', 'wharf.test': 't1', 'wharf.owner': 'u-bob12345', 'wharf.type': 'volume' } },
    });
    // An admin's named volume is theirs to pick: no owner, nothing added.
    const a = compileApp(parseAppConfig({ app: 'container', image: 'x', routing: { mode: 'none' }, containerArgs: '--mount src=data,dst=/d' }), { admin: true });
    expect((containerOptions('i-abc', a, host).HostConfig!.Mounts as unknown as Record<string, unknown>[])[0]).toEqual({ Type: 'volume', Source: 'data', Target: '/d' });
  });

  it('labels what an adopting agent needs, and rebuilds it from the labels', () => {
    const s = spec({ routing: { mode: 'tcp', port: 9000 }, env: { SECRET: 'x' } });
    const o = containerOptions('i-abc', s, host);
    expect(JSON.stringify(o.Labels)).not.toContain('SECRET');
    const adopted = adoptedSpec('wharf/busybox:local', o.Labels!);
    expect(adopted.ports).toEqual([{ port: 9000, routing: 'tcp' }]);
    expect(adopted.readiness).toEqual({ kind: 'tcp', port: 9000 });
  });

  it('mounts the instance\'s own labelled workspace volume at the workspace path, after the app\'s mounts', () => {
    const o = containerOptions('i-abc', spec({ routing: { mode: 'none' }, workspace: { path: '/home/me/work', exclude: ['.cache'] }, containerArgs: '--tmpfs /scratch' }), host);
    const mounts = o.HostConfig!.Mounts as unknown as Record<string, unknown>[];
    expect(mounts.at(-1)).toEqual({
      Type: 'volume', Source: 'wharf-ws-i-abc', Target: '/home/me/work', ReadOnly: false,
      VolumeOptions: { Labels: { fleet: 'eu', 'wharf.test': 't1', 'wharf.type': 'workspace', 'wharf.instance': 'i-abc', 'wharf.agent': 'a-1' } },
    });
    const adopted = adoptedSpec('x', o.Labels!);
    expect(adopted.workspace).toEqual({ path: '/home/me/work', restoreFrom: null, exclude: ['.cache'] });
  });

  it('keeps a Jupyter app\'s activity probe across adoption, its token read back from the container\'s env only', () => {
    const jupyter = compileApp(parseAppConfig({ app: 'jupyter' }), { admin: false });
    expect(jupyter.activity.kind).toBe('jupyter');
    const o = containerOptions('i-nb', jupyter, host);
    const token = jupyter.env.JUPYTER_TOKEN;
    expect(JSON.stringify(o.Labels)).not.toContain(token);
    const adopted = adoptedSpec('wharf/jupyter:local', o.Labels!, [...o.Env!, 'OTHER=x']);
    expect(adopted.activity).toEqual(jupyter.activity);
    expect(adopted.env).toEqual({ JUPYTER_TOKEN: token });
    // Without the token in the container there is no probe to run.
    expect(adoptedSpec('wharf/jupyter:local', o.Labels!, []).activity).toEqual({ kind: 'none' });
  });

  it('adopts a container with unreadable labels as an unrouted app', () => {
    const adopted = adoptedSpec('x', { 'wharf.ports': '[{"port": "nope"}]', 'wharf.readiness': '{' });
    expect(adopted.ports).toEqual([]);
    expect(adopted.readiness).toEqual({ kind: 'none' });
    expect(adopted.workspace.path).toBe('');
  });
});

describe('publishedPort', () => {
  it('reads the host port Docker chose from docker inspect', () => {
    expect(publishedPort({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] }, 8080)).toBe(32768);
    expect(publishedPort({ '8080/tcp': null }, 8080)).toBeUndefined();
    expect(publishedPort({}, 8080)).toBeUndefined();
    expect(publishedPort(undefined, 8080)).toBeUndefined();
  });
});

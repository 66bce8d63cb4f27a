import { describe, expect, it } from 'vitest';
import { ValidationError } from '../protocol/validate.ts';
import { FLAGS, HOST_ACCESS, ownedVolumeName, parseContainerArgs, parseCpus, parseSize, type ContainerArgs, type ContainerArgsPolicy } from './container-args.ts';

const admin: ContainerArgsPolicy = { admin: true };
const user: ContainerArgsPolicy = { admin: false, owner: 'u-bob12345' };
/** The mount a non-admin's named volume becomes: their own volume, labelled with its owner. */
const owned = (name: string, target: string, extra: object = {}, owner = 'u-bob12345') => ({
  Type: 'volume' as const, Source: `wharf-${owner}.${name}`, Target: target, ...extra, VolumeOptions: { Labels: { 'wharf.owner': owner } },
});
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function errorOf(text: string, policy: ContainerArgsPolicy = admin): ValidationError {
  try {
    parseContainerArgs(text, policy);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('containerArgs');
    return err as ValidationError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

function parsed(fields: Partial<ContainerArgs>): ContainerArgs {
  return { Env: [], Labels: {}, HostConfig: {}, hostAccess: [], ...fields };
}

/**
 * One case per documented flag and form: [flag, value, what it yields]. Each is checked as
 * `flag value` and as `flag=value`; together they must use every name in FLAGS.
 */
const cases: [string, string, ContainerArgs][] = [
  ['--cpus', '1.5', parsed({ HostConfig: { NanoCpus: 1_500_000_000 } })],
  ['--cpus', '.25', parsed({ HostConfig: { NanoCpus: 250_000_000 } })],
  ['--memory', '256m', parsed({ HostConfig: { Memory: 256 * MIB } })],
  ['-m', '1g', parsed({ HostConfig: { Memory: GIB } })],
  ['--memory-swap', '-1', parsed({ HostConfig: { MemorySwap: -1 } })],
  ['--shm-size', '256m', parsed({ HostConfig: { ShmSize: 256 * MIB } })],
  ['--shm-size', '65536', parsed({ HostConfig: { ShmSize: 65536 } })],
  ['--pids-limit', '100', parsed({ HostConfig: { PidsLimit: 100 } })],
  ['--ulimit', 'nofile=1024:4096', parsed({ HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }] } })],
  ['--ulimit', 'nproc=64', parsed({ HostConfig: { Ulimits: [{ Name: 'nproc', Soft: 64, Hard: 64 }] } })],
  ['--ulimit', 'memlock=-1', parsed({ HostConfig: { Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }] } })],
  ['--ulimit', 'stack=8192:-1', parsed({ HostConfig: { Ulimits: [{ Name: 'stack', Soft: 8192, Hard: -1 }] } })],
  ['--gpus', 'all', parsed({ HostConfig: { DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] } })],
  ['--gpus', '2', parsed({ HostConfig: { DeviceRequests: [{ Driver: '', Count: 2, Capabilities: [['gpu']] }] } })],
  ['--gpus', 'count=all', parsed({ HostConfig: { DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] } })],
  ['--gpus', 'device=0,1', parsed({ HostConfig: { DeviceRequests: [{ Driver: '', Count: 0, DeviceIDs: ['0', '1'], Capabilities: [['gpu']] }] } })],
  ['--gpus', '"device=GPU-3a9c"', parsed({ HostConfig: { DeviceRequests: [{ Driver: '', Count: 0, DeviceIDs: ['GPU-3a9c'], Capabilities: [['gpu']] }] } })],
  ['--env', 'A=1', parsed({ Env: ['A=1'] })],
  ['-e', 'B=x=y', parsed({ Env: ['B=x=y'] })],
  ['-e', 'EMPTY=', parsed({ Env: ['EMPTY='] })],
  ['--label', 'team=ml', parsed({ Labels: { team: 'ml' } })],
  ['-l', 'com.example/flag', parsed({ Labels: { 'com.example/flag': '' } })],
  ['--user', '1000:1000', parsed({ User: '1000:1000' })],
  ['-u', 'app', parsed({ User: 'app' })],
  ['--workdir', '/srv', parsed({ WorkingDir: '/srv' })],
  ['-w', '/srv/app', parsed({ WorkingDir: '/srv/app' })],
  ['--hostname', 'box', parsed({ Hostname: 'box' })],
  ['-h', 'box.local', parsed({ Hostname: 'box.local' })],
  ['--add-host', 'db:10.0.0.2', parsed({ HostConfig: { ExtraHosts: ['db:10.0.0.2'] } })],
  ['--add-host', 'host.docker.internal:host-gateway', parsed({ HostConfig: { ExtraHosts: ['host.docker.internal:host-gateway'] } })],
  ['--add-host', 'v6:::1', parsed({ HostConfig: { ExtraHosts: ['v6:::1'] } })],
  ['--add-host', 'v6=[fe80::1]', parsed({ HostConfig: { ExtraHosts: ['v6:fe80::1'] } })],
  ['--tmpfs', '/run', parsed({ HostConfig: { Tmpfs: { '/run': '' } } })],
  ['--tmpfs', '/tmp:rw,noexec,size=64m,mode=1777,uid=1000', parsed({ HostConfig: { Tmpfs: { '/tmp': 'rw,noexec,size=64m,mode=1777,uid=1000' } } })],
  ['--cap-drop', 'ALL', parsed({ HostConfig: { CapDrop: ['ALL'] } })],
  ['--cap-drop', 'cap_net_raw', parsed({ HostConfig: { CapDrop: ['NET_RAW'] } })],
  ['--security-opt', 'no-new-privileges', parsed({ HostConfig: { SecurityOpt: ['no-new-privileges:true'] } })],
  ['--security-opt', 'no-new-privileges:true', parsed({ HostConfig: { SecurityOpt: ['no-new-privileges:true'] } })],
  ['--volume', 'data:/data', parsed({ HostConfig: { Binds: ['data:/data'] } })],
  ['-v', 'data:/data:ro,nocopy', parsed({ HostConfig: { Binds: ['data:/data:ro,nocopy'] } })],
  ['-v', '/cache', parsed({ Volumes: { '/cache': {} } })],
  ['-v', '/srv/data:/data:rw', parsed({ HostConfig: { Binds: ['/srv/data:/data:rw'] }, hostAccess: ['bind-mount'] })],
  ['--mount', 'type=volume,source=data,target=/data', parsed({ HostConfig: { Mounts: [{ Type: 'volume', Source: 'data', Target: '/data' }] } })],
  ['--mount', 'target=/scratch,volume-nocopy', parsed({ HostConfig: { Mounts: [{ Type: 'volume', Target: '/scratch', VolumeOptions: { NoCopy: true } }] } })],
  ['--mount', 'type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777', parsed({ HostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 64 * MIB, Mode: 0o1777 } }] } })],
  ['--mount', 'type=bind,src=/srv,destination=/data,readonly,bind-propagation=rslave', parsed({
    HostConfig: { Mounts: [{ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true, BindOptions: { Propagation: 'rslave' } }] }, hostAccess: ['bind-mount'],
  })],
  ['--mount', 'type=bind,source=/srv,target=/data,ro=false', parsed({ HostConfig: { Mounts: [{ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: false }] }, hostAccess: ['bind-mount'] })],
  ['--cap-add', 'NET_ADMIN', parsed({ HostConfig: { CapAdd: ['NET_ADMIN'] }, hostAccess: ['cap-add'] })],
  ['--device', '/dev/fuse', parsed({ HostConfig: { Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }] }, hostAccess: ['device'] })],
  ['--device', '/dev/sda:/dev/xvda:r', parsed({ HostConfig: { Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'r' }] }, hostAccess: ['device'] })],
  ['--device', '/dev/fuse:rw', parsed({ HostConfig: { Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rw' }] }, hostAccess: ['device'] })],
  ['--network', 'host', parsed({ HostConfig: { NetworkMode: 'host' }, hostAccess: ['network-host'] })],
  ['--network', 'none', parsed({ HostConfig: { NetworkMode: 'none' } })],
  // Docker's bridge would let apps reach each other: "bridge" is the agent's app network, the default.
  ['--net', 'bridge', parsed({})],
  ['--pid', 'host', parsed({ HostConfig: { PidMode: 'host' }, hostAccess: ['pid-host'] })],
  ['--ipc', 'host', parsed({ HostConfig: { IpcMode: 'host' }, hostAccess: ['ipc-host'] })],
  ['--ipc', 'shareable', parsed({ HostConfig: { IpcMode: 'shareable' } })],
];

/** Switches: [flag as written, what it yields]. */
const switches: [string, ContainerArgs][] = [
  ['--read-only', parsed({ HostConfig: { ReadonlyRootfs: true } })],
  ['--read-only=true', parsed({ HostConfig: { ReadonlyRootfs: true } })],
  ['--read-only=false', parsed({ HostConfig: { ReadonlyRootfs: false } })],
  ['--privileged', parsed({ HostConfig: { Privileged: true }, hostAccess: ['privileged'] })],
  ['--privileged=true', parsed({ HostConfig: { Privileged: true }, hostAccess: ['privileged'] })],
  ['--privileged=false', parsed({ HostConfig: { Privileged: false } })],
];

describe('parseContainerArgs', () => {
  it('parses the example of DESIGN.md', () => {
    expect(parseContainerArgs('--shm-size 256m --cpus 1', user)).toEqual(parsed({ HostConfig: { ShmSize: 256 * MIB, NanoCpus: 1_000_000_000 } }));
  });

  it('returns nothing for an empty string', () => {
    expect(parseContainerArgs('', user)).toEqual(parsed({}));
    expect(parseContainerArgs('  \n ', user)).toEqual(parsed({}));
  });

  it.each(cases)('parses %s %s in both forms', (flag, value, expected) => {
    const quoted = /[\s"']/.test(value) ? `'${value}'` : value;
    expect(parseContainerArgs(`${flag} ${quoted}`, admin)).toEqual(expected);
    expect(parseContainerArgs(`${flag}=${quoted}`, admin)).toEqual(expected);
  });

  it.each(switches)('parses the switch %s', (text, expected) => {
    expect(parseContainerArgs(text, admin)).toEqual(expected);
  });

  it('exercises every documented flag name in these tests', () => {
    const used = new Set([...cases.map(([flag]) => flag), ...switches.map(([text]) => text.split('=')[0])]);
    const documented = FLAGS.flatMap((f) => f.names);
    expect(documented.filter((name) => !used.has(name))).toEqual([]);
  });

  it('documents every host-access rule on a flag', () => {
    expect([...new Set(FLAGS.flatMap((f) => (f.hostAccess ? [f.hostAccess] : [])))].sort()).toEqual([...HOST_ACCESS].sort());
  });

  it('accepts short flags with the value attached', () => {
    expect(parseContainerArgs('-m1g -m=2g', user).HostConfig.Memory).toBe(2 * GIB);
    expect(parseContainerArgs('-eA=1 -e=B=2 -lx=y', user)).toEqual(parsed({ Env: ['A=1', 'B=2'], Labels: { x: 'y' } }));
  });

  it('keeps quoted values whole', () => {
    expect(parseContainerArgs(`-e 'GREETING=hello world' --label "note=a \\"b\\"" --env=X="1 2"`, user)).toEqual(parsed({
      Env: ['GREETING=hello world', 'X=1 2'], Labels: { note: 'a "b"' },
    }));
  });

  it('adds up repeated list flags and lets the last single value win', () => {
    const out = parseContainerArgs('-e A=1 -e A=2 --memory 1g --memory 2g --ulimit nofile=10 --ulimit nproc=5 --ulimit nofile=20 --cap-drop ALL --cap-drop NET_RAW', user);
    expect(out.Env).toEqual(['A=1', 'A=2']);
    expect(out.HostConfig.Memory).toBe(2 * GIB);
    expect(out.HostConfig.Ulimits).toEqual([{ Name: 'nproc', Soft: 5, Hard: 5 }, { Name: 'nofile', Soft: 20, Hard: 20 }]);
    expect(out.HostConfig.CapDrop).toEqual(['ALL', 'NET_RAW']);
  });

  it('combines many flags in one string', () => {
    const out = parseContainerArgs('--cpus 2 -m 4g --memory-swap 6g --shm-size=1g --pids-limit 512 --read-only --tmpfs /tmp --security-opt no-new-privileges --cap-drop ALL -v data:/data -u 1000 -w /data --hostname=lab --add-host h:host-gateway -e A=1 -l k=v --gpus all', user);
    expect(out).toEqual({
      Env: ['A=1'], Labels: { k: 'v' }, User: '1000', WorkingDir: '/data', Hostname: 'lab',
      HostConfig: {
        NanoCpus: 2e9, Memory: 4 * GIB, MemorySwap: 6 * GIB, ShmSize: GIB, PidsLimit: 512, ReadonlyRootfs: true, Tmpfs: { '/tmp': '' },
        SecurityOpt: ['no-new-privileges:true'], CapDrop: ['ALL'], Mounts: [owned('data', '/data')], ExtraHosts: ['h:host-gateway'],
        DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }],
      },
      hostAccess: [],
    });
  });

  it('checks --memory-swap against --memory', () => {
    expect(parseContainerArgs('-m 1g --memory-swap 1g', user).HostConfig.MemorySwap).toBe(GIB);
    expect(parseContainerArgs('--memory-swap -1', user).HostConfig.MemorySwap).toBe(-1);
    expect(parseContainerArgs('-m 1g --memory-swap=-1', user).HostConfig.MemorySwap).toBe(-1);
    expect(errorOf('--memory-swap 1g').message).toMatch(/--memory-swap needs --memory/);
    expect(errorOf('-m 2g --memory-swap 1g').message).toMatch(/--memory-swap must be at least --memory/);
  });

  describe('host access', () => {
    const hostFlags: [string, string, string][] = [
      // [args, the flag as the error names it, the rule]
      ['--privileged', '--privileged', 'privileged'],
      ['-v /etc:/host-etc', '-v /etc:/host-etc', 'bind-mount'],
      ['--volume=/:/host', '--volume /:/host', 'bind-mount'],
      ['--mount type=bind,source=/var/run/docker.sock,target=/sock', '--mount type=bind,source=/var/run/docker.sock,target=/sock', 'bind-mount'],
      ['--cap-add SYS_ADMIN', '--cap-add SYS_ADMIN', 'cap-add'],
      ['--device /dev/kvm', '--device /dev/kvm', 'device'],
      ['--network host', '--network host', 'network-host'],
      ['--net=host', '--net host', 'network-host'],
      ['--pid host', '--pid host', 'pid-host'],
      ['--ipc=host', '--ipc host', 'ipc-host'],
    ];

    it.each(hostFlags)('refuses %s to a non-admin, naming the flag', (args, named, rule) => {
      const err = errorOf(args, user);
      expect(err.message).toContain(`containerArgs: ${named} gives the container access to the host`);
      expect(err.message).toContain(`"${rule}"`);
    });

    it.each(hostFlags)('accepts %s from an admin and records the rule', (args, _, rule) => {
      expect(parseContainerArgs(args, admin).hostAccess).toEqual([rule]);
    });

    it.each(hostFlags)('accepts %s from a non-admin when the admin policy allows its rule', (args, _, rule) => {
      const others = HOST_ACCESS.filter((r) => r !== rule);
      expect(parseContainerArgs(args, { admin: false, allowHostAccess: [rule as never] }).hostAccess).toEqual([rule]);
      expect(() => parseContainerArgs(args, { admin: false, allowHostAccess: others })).toThrow(ValidationError);
    });

    it('refuses the first disallowed flag even after allowed ones', () => {
      const err = errorOf('--device /dev/fuse --privileged', { admin: false, allowHostAccess: ['device'] });
      expect(err.message).toMatch(/^containerArgs: --privileged gives/);
    });

    it('records each rule once, in order of first use', () => {
      expect(parseContainerArgs('--cap-add NET_ADMIN -v /a:/a --cap-add SYS_PTRACE --mount type=bind,src=/b,dst=/b', admin).hostAccess).toEqual(['cap-add', 'bind-mount']);
    });

    it('tells a named volume from a host bind mount', () => {
      expect(parseContainerArgs('-v cache:/root/.cache', user)).toEqual(parsed({ HostConfig: { Mounts: [owned('cache', '/root/.cache')] } }));
      expect(parseContainerArgs('--mount source=cache,target=/c', user).hostAccess).toEqual([]);
      expect(errorOf('-v /srv/cache:/root/.cache', user).message).toMatch(/-v \/srv\/cache:\/root\/\.cache gives the container access to the host/);
    });

    it('keeps volumes named wharf… for admins: they hold workspaces', () => {
      expect(errorOf('-v wharf-ws-abc:/steal', user).message).toMatch(/Wharf's own/);
      expect(errorOf('--mount source=WharfData,target=/x', user).message).toMatch(/Wharf's own/);
      expect(parseContainerArgs('-v wharf-ws-abc:/restore', admin).HostConfig.Binds).toEqual(['wharf-ws-abc:/restore']);
    });

    it('does not count switches turned off or harmless modes as host access', () => {
      expect(parseContainerArgs('--privileged=false --network bridge --ipc private', user).hostAccess).toEqual([]);
    });
  });

  describe('named volumes (issue 14: a user\'s volume is their own)', () => {
    it('maps a non-admin\'s volume name into the owner\'s namespace, labelled with the owner', () => {
      expect(parseContainerArgs('-v data:/data', user).HostConfig).toEqual({ Mounts: [owned('data', '/data')] });
      expect(parseContainerArgs('-v data:/data:ro,nocopy', user).HostConfig.Mounts).toEqual([
        { Type: 'volume', Source: 'wharf-u-bob12345.data', Target: '/data', ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { 'wharf.owner': 'u-bob12345' } } },
      ]);
      expect(parseContainerArgs('-v data:/data:rw', user).HostConfig.Mounts).toEqual([owned('data', '/data')]);
      expect(parseContainerArgs('--mount type=volume,src=data,dst=/d,readonly', user).HostConfig.Mounts).toEqual([owned('data', '/d', { ReadOnly: true })]);
      expect(parseContainerArgs('--mount source=data,target=/d,volume-nocopy=false', user).HostConfig.Mounts).toEqual([
        { Type: 'volume', Source: 'wharf-u-bob12345.data', Target: '/d', VolumeOptions: { NoCopy: false, Labels: { 'wharf.owner': 'u-bob12345' } } },
      ]);
    });

    it('gives each user their own volume for the same name, and the same one at every launch', () => {
      const alice: ContainerArgsPolicy = { admin: false, owner: 'u-alice123' };
      const hers = parseContainerArgs('-v alice-data:/data', alice).HostConfig.Mounts;
      expect(parseContainerArgs('-v alice-data:/data', alice).HostConfig.Mounts).toEqual(hers);
      expect(parseContainerArgs('-v alice-data:/steal', user).HostConfig.Mounts).toEqual([owned('alice-data', '/steal')]);
      expect(hers).toEqual([owned('alice-data', '/data', {}, 'u-alice123')]);
    });

    it('keeps anonymous volumes as they are: each container gets a fresh one', () => {
      expect(parseContainerArgs('-v /cache --mount target=/scratch', user).HostConfig).toEqual({ Mounts: [{ Type: 'volume', Target: '/scratch' }] });
      expect(parseContainerArgs('-v /cache', user).Volumes).toEqual({ '/cache': {} });
    });

    it('refuses a name in Wharf\'s namespace, which holds workspaces and every user\'s volumes', () => {
      expect(errorOf('-v wharf-u-alice123.alice-data:/steal', user).message).toBe(
        'containerArgs: -v "wharf-u-alice123.alice-data:/steal": volumes named wharf… are Wharf\'s own; only an admin may mount them (pick another name)');
    });

    it('refuses options a volume mount cannot take, naming flag and option', () => {
      expect(errorOf('-v data:/x:z', user).message).toBe('containerArgs: -v "data:/x:z": must be options among ro, rw, nocopy for a named volume (not "z")');
      expect(errorOf('-v data:/x:rshared', user).message).toMatch(/not "rshared"/);
    });

    it('refuses a named volume when no owner is known, saying what to use instead', () => {
      expect(errorOf('--volume data:/x', { admin: false }).message).toBe(
        'containerArgs: --volume "data:/x": named volumes are kept per user and this config has no owner; use an anonymous volume (--volume TARGET)');
    });

    it('takes an admin\'s names as written', () => {
      expect(parseContainerArgs('-v control-home:/x:ro -v data:/y', admin).HostConfig).toEqual({ Binds: ['control-home:/x:ro', 'data:/y'] });
      expect(parseContainerArgs('--mount src=data,dst=/d', { admin: true, owner: 'u-admin123' }).HostConfig.Mounts).toEqual([{ Type: 'volume', Source: 'data', Target: '/d' }]);
    });

    it('names owned volumes so that no two owners or names meet', () => {
      expect(ownedVolumeName('u-ab12cd34', 'data')).toBe('wharf-u-ab12cd34.data');
      // "." ends the owner, and owners have none: (u-a, b.c) and (u-a.b, c) cannot both exist.
      expect(ownedVolumeName('u-a', 'b-c')).not.toBe(ownedVolumeName('u-a-b', 'c'));
      expect(() => ownedVolumeName('u.a', 'c')).toThrow(/not a user or project id/);
      expect(() => ownedVolumeName('', 'c')).toThrow(/not a user or project id/);
    });
  });

  describe('--network', () => {
    it('makes bridge the default again after another mode', () => {
      expect(parseContainerArgs('--network none --network bridge', user).HostConfig).toEqual({});
      expect(parseContainerArgs('--network bridge --network none', user).HostConfig).toEqual({ NetworkMode: 'none' });
    });
  });

  describe('refusals', () => {
    it('names an unsupported flag', () => {
      expect(errorOf('--foo').message).toBe('containerArgs: unsupported flag --foo');
      expect(errorOf('--cpus 1 --foo=bar').message).toBe('containerArgs: unsupported flag --foo');
      expect(errorOf('--runtime runc').message).toBe('containerArgs: unsupported flag --runtime');
      expect(errorOf('--volumes-from other').message).toBe('containerArgs: unsupported flag --volumes-from');
      expect(errorOf('--cgroup-parent /x').message).toBe('containerArgs: unsupported flag --cgroup-parent');
    });

    it('says what to do instead for familiar docker run flags', () => {
      expect(errorOf('-p 8080:80').message).toBe('containerArgs: unsupported flag -p (routing.port says which port Wharf publishes)');
      expect(errorOf('--name x').message).toMatch(/unsupported flag --name \(Wharf names/);
      expect(errorOf('--entrypoint sh').message).toMatch(/unsupported flag --entrypoint \(command replaces/);
      expect(errorOf('-it').message).toMatch(/unsupported flag -i \(/);
      expect(errorOf('--rm').message).toMatch(/unsupported flag --rm/);
    });

    it('refuses arguments that are not flags', () => {
      expect(errorOf('bash').message).toMatch(/unexpected argument "bash"/);
      expect(errorOf('--cpus 1 2').message).toMatch(/unexpected argument "2"/);
      expect(errorOf('-').message).toMatch(/unexpected argument "-"/);
      expect(errorOf('--').message).toMatch(/unexpected argument "--"/);
    });

    it('refuses a flag missing its value', () => {
      expect(errorOf('--memory').message).toBe('containerArgs: --memory needs a value: SIZE');
      expect(errorOf('--cpus 1 -e').message).toBe('containerArgs: -e needs a value: NAME=VALUE');
    });

    it('refuses an unterminated quote', () => {
      expect(errorOf("--label 'a=b").message).toMatch(/^containerArgs: has an unterminated single quote/);
    });

    it('refuses labels that only Wharf may set, even from an admin', () => {
      expect(errorOf('--label wharf.instance=other', admin).message).toMatch(/--label "wharf.instance=other": labels starting with wharf\. are set by Wharf only/);
      expect(errorOf('-l WHARF.type=application', admin).message).toMatch(/set by Wharf only/);
    });

    const badValues: [string, string][] = [
      // [args, the start of the message after "containerArgs: "]
      ['--cpus 0', '--cpus "0"'],
      ['--cpus -1', '--cpus "-1"'],
      ['--cpus one', '--cpus "one"'],
      ['--cpus 1e3', '--cpus "1e3"'],
      ['--memory lots', '--memory "lots"'],
      ['--memory 1m', '--memory "1m"'],
      ['-m 0', '-m "0"'],
      ['--memory=-1g', '--memory "-1g"'],
      ['--memory 1x', '--memory "1x"'],
      ['--memory-swap -2', '--memory-swap "-2"'],
      ['--shm-size 0', '--shm-size "0"'],
      ['--shm-size 1 g', 'unexpected argument "g"'],
      ['--pids-limit 0', '--pids-limit "0"'],
      ['--pids-limit -1', '--pids-limit "-1"'],
      ['--pids-limit 1.5', '--pids-limit "1.5"'],
      ['--ulimit nofile', '--ulimit "nofile"'],
      ['--ulimit bogus=1', '--ulimit "bogus=1"'],
      ['--ulimit nofile=10:5', '--ulimit "nofile=10:5"'],
      ['--ulimit nofile=-1:5', '--ulimit "nofile=-1:5"'],
      ['--gpus some', '--gpus "some"'],
      ['--gpus 0', '--gpus "0"'],
      ['--gpus device=', '--gpus "device="'],
      ['--gpus driver=nvidia', '--gpus "driver=nvidia"'],
      ['-e NAME', '-e "NAME"'],
      ['-e 1A=b', '-e "1A=b"'],
      ['--env =x', '--env "=x"'],
      ['--label =x', '--label "=x"'],
      ['--user "a b"', '--user "a b"'],
      ['--user a:b:c', '--user "a:b:c"'],
      ['--workdir srv', '--workdir "srv"'],
      ['-w /a/../b', '-w "/a/../b"'],
      ['--hostname -bad', '--hostname "-bad"'],
      ['--hostname a_b', '--hostname "a_b"'],
      ['--add-host db', '--add-host "db"'],
      ['--add-host db:nowhere', '--add-host "db:nowhere"'],
      ['--add-host :10.0.0.1', '--add-host ":10.0.0.1"'],
      ['--read-only=yes', '--read-only "yes"'],
      ['--privileged=1', '--privileged "1"'],
      ['--tmpfs run', '--tmpfs "run"'],
      ['--tmpfs /run:size=big', '--tmpfs "/run:size=big"'],
      ['--tmpfs /run:bogus', '--tmpfs "/run:bogus"'],
      ['--cap-drop NOT_A_CAP', '--cap-drop "NOT_A_CAP"'],
      ['--cap-add NOT_A_CAP', '--cap-add "NOT_A_CAP"'],
      ['--security-opt seccomp=unconfined', '--security-opt "seccomp=unconfined"'],
      ['--security-opt apparmor=unconfined', '--security-opt "apparmor=unconfined"'],
      ['--security-opt no-new-privileges:false', '--security-opt "no-new-privileges:false"'],
      ['-v data', '-v "data"'],
      ['-v data:relative', '-v "data:relative"'],
      ['-v data:/', '-v "data:/"'],
      ['-v ./here:/x', '-v "./here:/x"'],
      ['-v data:/x:bogus', '-v "data:/x:bogus"'],
      ['-v data:/x:ro,rw', '-v "data:/x:ro,rw"'],
      ['-v a:/b:ro:extra', '-v "a:/b:ro:extra"'],
      ['-v /a/../etc:/x', '-v "/a/../etc:/x"'],
      ['--mount type=nfs,target=/x', '--mount "type=nfs,target=/x"'],
      ['--mount source=data', '--mount "source=data"'],
      ['--mount type=bind,target=/x', '--mount "type=bind,target=/x"'],
      ['--mount type=bind,source=rel,target=/x', '--mount "type=bind,source=rel,target=/x"'],
      ['--mount type=tmpfs,source=x,target=/x', '--mount "type=tmpfs,source=x,target=/x"'],
      ['--mount type=tmpfs,target=/x,tmpfs-mode=rwx', '--mount "type=tmpfs,target=/x,tmpfs-mode=rwx"'],
      ['--mount target=/x,bogus=1', '--mount "target=/x,bogus=1"'],
      // The local volume driver's options can bind any host path: not offered.
      ['--mount type=volume,source=v,target=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc', '--mount "type=volume,source=v,target=/x,volume-opt'],
      ['--mount type=volume,source=v,target=/x,volume-driver=local', '--mount "type=volume,source=v,target=/x,volume-driver=local"'],
      ['--mount target=/x,target=/y', '--mount "target=/x,target=/y"'],
      ['--mount target=/x,dst=/y', '--mount "target=/x,dst=/y"'],
      ['--mount type=volume,target=/x,bind-propagation=shared', '--mount "type=volume,target=/x,bind-propagation=shared"'],
      ['--mount target=/x,readonly=maybe', '--mount "target=/x,readonly=maybe"'],
      ['--device dev/fuse', '--device "dev/fuse"'],
      ['--device /dev/fuse:rwx', '--device "/dev/fuse:rwx"'],
      ['--device /dev/fuse:/dev/fuse:rr', '--device "/dev/fuse:/dev/fuse:rr"'],
      ['--network container:other', '--network "container:other"'],
      ['--network mynet', '--network "mynet"'],
      ['--pid container:other', '--pid "container:other"'],
      ['--pid private', '--pid "private"'],
      ['--ipc container:other', '--ipc "container:other"'],
    ];

    it.each(badValues)('refuses %s, naming flag and value', (args, start) => {
      expect(errorOf(args).message.startsWith(`containerArgs: ${start}`)).toBe(true);
    });
  });
});

describe('parseSize', () => {
  it('reads Docker sizes in powers of 1024', () => {
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('512b')).toBe(512);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('512K')).toBe(512 * 1024);
    expect(parseSize('256m')).toBe(256 * MIB);
    expect(parseSize('256mb')).toBe(256 * MIB);
    expect(parseSize('256MiB')).toBe(256 * MIB);
    expect(parseSize('1g')).toBe(GIB);
    expect(parseSize('1.5g')).toBe(1.5 * GIB);
    expect(parseSize('2t')).toBe(2 * 1024 * GIB);
    expect(parseSize('1p')).toBe(1024 * 1024 * GIB);
    expect(parseSize('0.5k')).toBe(512);
  });

  it('says null for anything else', () => {
    for (const bad of ['', 'm', '-1', '1x', '1 g', '1gg', '1.g', '.5g', '0x10', '1e3', '9999999p']) expect(parseSize(bad), bad).toBeNull();
  });
});

describe('parseCpus', () => {
  it('reads decimal CPUs as nano-CPUs', () => {
    expect(parseCpus('1')).toBe(1e9);
    expect(parseCpus('0.5')).toBe(5e8);
    expect(parseCpus('.5')).toBe(5e8);
    expect(parseCpus('2.')).toBe(2e9);
    expect(parseCpus('0.000000001')).toBe(1);
  });

  it('says null for zero and anything that is not a positive decimal', () => {
    for (const bad of ['0', '0.0000000001', '-1', '', '.', '1e3', 'one', '1,5']) expect(parseCpus(bad), bad).toBeNull();
  });
});

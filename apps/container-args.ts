import { isIP } from 'node:net';
import { LABEL_OWNER, type DeviceMapping, type HostConfig, type Mount, type Ulimit } from '../protocol/launch-spec.ts';
import { ShellWordsError, splitShellWords } from '../protocol/shell-words.ts';
import { ValidationError } from '../protocol/validate.ts';

/*
 * `containerArgs` (DESIGN.md, "App config"): `docker run` flags, split with POSIX shell
 * quoting, turned into Docker Engine API container-create fields. Only the flags of `FLAGS`
 * below are understood; anything else is refused by name, so that a flag we do not know can
 * never widen what a container may do. Every flag accepts `--flag value` and `--flag=value`
 * (a short one also `-m 1g`, `-m=1g` and `-m1g`); a repeated flag adds to a list, or
 * replaces a single value, as with `docker run`.
 *
 * Sizes are Docker's: a number of bytes, or a number (fractions allowed) with a unit
 * b, k, m, g, t or p in powers of 1024 (`512k`, `256m`, `1.5g`, `1GiB`, `1gb`).
 *
 * Host access. The flags marked with a rule in `FLAGS` reach past the container into the host:
 *
 *   rule          flags
 *   privileged    --privileged
 *   bind-mount    -v/--volume HOST_PATH:…, --mount type=bind
 *   cap-add       --cap-add
 *   device        --device
 *   network-host  --network host
 *   pid-host      --pid host
 *   ipc-host      --ipc host
 *
 * Admins may use them; anyone else only those rules an admin policy lists in
 * `allowHostAccess`. Labels starting with `wharf.` are refused for everyone: `wharf.instance`
 * and friends are how prune and adoption find containers.
 *
 * Named volumes are not host access, but a Docker volume name is global to the host: the
 * same name is the same data for every user, and for whatever else runs there (control's own
 * volume from compose holds its keys and database). So a non-admin's volume NAME is mapped
 * into its owner's namespace (`ownedVolumeName`), labelled with the owner, and is the same
 * volume at each of their launches; names starting with `wharf` (workspaces, owned volumes)
 * need an admin. An admin's names are taken as written.
 */

export type HostAccess = 'privileged' | 'bind-mount' | 'cap-add' | 'device' | 'network-host' | 'pid-host' | 'ipc-host';
export const HOST_ACCESS: readonly HostAccess[] = ['privileged', 'bind-mount', 'cap-add', 'device', 'network-host', 'pid-host', 'ipc-host'];

export interface ContainerArgsPolicy {
  admin: boolean;
  /** Host-access rules that an admin allows everyone to use. */
  allowHostAccess?: readonly HostAccess[];
  /** Whose named volumes a non-admin's are: the submitting user's id (one day, a project's). */
  owner?: string;
}

/** Container-create fields, named as in the Docker Engine API. */
export interface ContainerArgs {
  Env: string[]; // "NAME=value"
  Labels: Record<string, string>;
  User?: string;
  WorkingDir?: string;
  Hostname?: string;
  Volumes?: Record<string, Record<string, never>>; // anonymous volumes: target → {}
  HostConfig: HostConfig & {
    Memory?: number; // bytes
    NanoCpus?: number; // 10⁻⁹ CPUs
  };
  /** The host-access rules used, each once, in order of first use. */
  hostAccess: HostAccess[];
}

interface Context {
  /** The flag as the user wrote it (`-m`, `--memory`). */
  flag: string;
  out: ContainerArgs;
  policy: ContainerArgsPolicy;
}

interface Flag {
  names: readonly string[];
  /** What the value looks like; a flag without one is a switch (`--read-only`, `--read-only=false`). */
  value?: string;
  /** What it sets, for people. */
  sets: string;
  /** Host access this flag may need (for some values only, where `sets` says so). */
  hostAccess?: HostAccess;
  apply(value: string, ctx: Context): void;
}

const MIB = 1024 * 1024;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: MIB, g: 1024 * MIB, t: 1024 * 1024 * MIB, p: 1024 * 1024 * 1024 * MIB };

/** Docker's size syntax (go-units RAMInBytes): bytes, or a number with a binary unit. null if it is not a size. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(?:([kmgtp])i?)?b?$/i.exec(text);
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** `--cpus` syntax: a positive decimal number of CPUs, as nano-CPUs. null if it is not one. */
export function parseCpus(text: string): number | null {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return null;
  const nano = Math.round(Number(text) * 1e9);
  return nano >= 1 && Number.isSafeInteger(nano) ? nano : null;
}

/** Docker refuses a memory limit below 6 MiB. */
const MIN_MEMORY = 6 * MIB;

/** capabilities(7), Linux 6.x, without the CAP_ prefix. */
const CAPABILITIES = new Set([
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'SYSLOG', 'WAKE_ALARM', 'ALL',
]);

/** setrlimit(2) resources, as Docker names them. */
const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;
const HOSTNAME = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;
const VOLUME_OPTIONS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate']);
/** What a user's own volume takes: it becomes a volume mount, which has no SELinux relabelling or propagation. */
const OWNED_VOLUME_OPTIONS = new Set(['ro', 'rw', 'nocopy']);
/** Ids of users (`u-…`, control/store) and projects: no ".", so that "." ends the owner in `ownedVolumeName`. */
const OWNER_ID = /^[a-z0-9][a-z0-9-]*$/;
const PROPAGATION = new Set(['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate']);
const TMPFS_FLAGS = new Set(['rw', 'ro', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev']);

function fail(message: string): never {
  throw new ValidationError('containerArgs', message);
}

/** `--memory "lots": must be a size such as 256m` */
function bad(ctx: Context, value: string, expected: string): never {
  fail(`${ctx.flag} ${JSON.stringify(value)}: must be ${expected}`);
}

/** Records a host-access rule, refusing it unless the policy allows it. `what` is how the user wrote it. */
function grant(ctx: Context, rule: HostAccess, what: string): void {
  const { admin, allowHostAccess = [] } = ctx.policy;
  if (!admin && !allowHostAccess.includes(rule)) {
    fail(`${what} gives the container access to the host: only an admin may use it (or an admin policy allowing "${rule}")`);
  }
  if (!ctx.out.hostAccess.includes(rule)) ctx.out.hostAccess.push(rule);
}

function absolute(ctx: Context, value: string, path: string, what = 'an absolute path'): string {
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..')) bad(ctx, value, `${what} (starting with /, without ".." parts)`);
  return path;
}

function size(ctx: Context, value: string, min = 1): number {
  const bytes = parseSize(value);
  if (bytes === null || bytes < min) bad(ctx, value, `a size such as 256m, 1g, 512k or a number of bytes${min > 1 ? ` (at least ${min / MIB}m)` : ' (above 0)'}`);
  return bytes;
}

function list<K extends keyof HostConfig>(ctx: Context, key: K): NonNullable<HostConfig[K]> {
  return (ctx.out.HostConfig[key] ??= [] as never) as NonNullable<HostConfig[K]>;
}

function capability(ctx: Context, value: string): string {
  const name = value.toUpperCase().replace(/^CAP_/, '');
  if (!CAPABILITIES.has(name)) bad(ctx, value, 'a Linux capability such as NET_ADMIN (see capabilities(7)) or ALL');
  return name;
}

/**
 * The Docker volume that `owner`'s volume `name` is. It starts with `wharf`, which only an
 * admin may name, so no user can mount another's, and no user's name can reach a volume
 * that Wharf or anything else on the host made; "." separates owner and name (owners have none).
 */
export function ownedVolumeName(owner: string, name: string): string {
  if (!OWNER_ID.test(owner)) throw new Error(`${JSON.stringify(owner)} is not a user or project id`);
  return `wharf-${owner}.${name}`;
}

/** Checks a named volume's name; for a non-admin, the mount of their own volume it becomes. */
function namedVolume(ctx: Context, value: string, name: string, target: string, readOnly: boolean | undefined, noCopy: boolean | undefined): Mount | undefined {
  if (!VOLUME_NAME.test(name)) bad(ctx, value, 'a volume name (letters, digits, "_", ".", "-") or an absolute host path');
  const { admin, owner } = ctx.policy;
  if (admin) return undefined;
  if (/^wharf/i.test(name)) fail(`${ctx.flag} ${JSON.stringify(value)}: volumes named wharf… are Wharf's own; only an admin may mount them (pick another name)`);
  if (owner === undefined) fail(`${ctx.flag} ${JSON.stringify(value)}: named volumes are kept per user and this config has no owner; use an anonymous volume (${ctx.flag} TARGET)`);
  const m: Mount = { Type: 'volume', Source: ownedVolumeName(owner, name), Target: target };
  if (readOnly !== undefined) m.ReadOnly = readOnly;
  m.VolumeOptions = { ...(noCopy !== undefined && { NoCopy: noCopy }), Labels: { [LABEL_OWNER]: owner } };
  return m;
}

function volume(value: string, ctx: Context): void {
  const parts = value.split(':');
  if (parts.length > 3) bad(ctx, value, '[SOURCE:]TARGET[:OPTIONS]');
  if (parts.length === 1) {
    const target = absolute(ctx, value, parts[0], 'a target path');
    (ctx.out.Volumes ??= {})[target] = {};
    return;
  }
  const [source, target, options = ''] = parts;
  absolute(ctx, value, target, 'a target path');
  if (target === '/') bad(ctx, value, 'a target below /');
  const opts = options ? options.split(',') : [];
  const unknown = opts.find((o) => !VOLUME_OPTIONS.has(o));
  if (unknown !== undefined) bad(ctx, value, `options among ${[...VOLUME_OPTIONS].join(', ')} (not "${unknown}")`);
  if (opts.includes('ro') && opts.includes('rw')) bad(ctx, value, 'either ro or rw, not both');
  if (source.startsWith('/')) {
    absolute(ctx, value, source, 'a host path');
    grant(ctx, 'bind-mount', `${ctx.flag} ${value}`);
  } else {
    const owned = namedVolume(ctx, value, source, target, opts.includes('ro') || undefined, opts.includes('nocopy') || undefined);
    if (owned) {
      const other = opts.find((o) => !OWNED_VOLUME_OPTIONS.has(o));
      if (other !== undefined) bad(ctx, value, `options among ${[...OWNED_VOLUME_OPTIONS].join(', ')} for a named volume (not "${other}")`);
      list(ctx, 'Mounts').push(owned);
      return;
    }
  }
  list(ctx, 'Binds').push(value);
}

function mount(value: string, ctx: Context): void {
  const fields = new Map<string, string | undefined>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (fields.has(key)) fail(`${ctx.flag} ${JSON.stringify(value)}: "${key}" is given twice`);
    fields.set(key, eq < 0 ? undefined : part.slice(eq + 1));
  }
  const take = (...keys: string[]) => {
    const found = keys.filter((k) => fields.has(k));
    if (found.length > 1) fail(`${ctx.flag} ${JSON.stringify(value)}: ${found.join(' and ')} say the same thing; give one`);
    const v = found.length ? fields.get(found[0]) : undefined;
    for (const k of found) fields.delete(k);
    return { given: found.length > 0, value: v };
  };
  const bool = (...keys: string[]) => {
    const { given, value: v } = take(...keys);
    if (!given) return undefined;
    if (v === undefined || /^(1|true)$/i.test(v)) return true;
    if (/^(0|false)$/i.test(v)) return false;
    return bad(ctx, value, `${keys[0]} without a value, or =true or =false`);
  };
  const type = take('type').value ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') bad(ctx, value, 'type=bind, type=volume or type=tmpfs');
  const source = take('source', 'src').value;
  const target = take('target', 'destination', 'dst').value;
  if (target === undefined) bad(ctx, value, 'a target=PATH');
  absolute(ctx, value, target, 'a target path');
  if (target === '/') bad(ctx, value, 'a target below /');
  let m: Mount = { Type: type, Target: target };
  if (source !== undefined) m.Source = source;
  const readOnly = bool('readonly', 'ro');
  if (readOnly !== undefined) m.ReadOnly = readOnly;
  if (type === 'bind') {
    if (source === undefined) bad(ctx, value, 'a source=HOST_PATH for type=bind');
    absolute(ctx, value, source, 'a host path');
    const propagation = take('bind-propagation').value;
    if (propagation !== undefined) {
      if (!PROPAGATION.has(propagation)) bad(ctx, value, `bind-propagation among ${[...PROPAGATION].join(', ')}`);
      m.BindOptions = { Propagation: propagation };
    }
    grant(ctx, 'bind-mount', `${ctx.flag} ${value}`);
  } else if (type === 'volume') {
    const noCopy = bool('volume-nocopy');
    const owned = source === undefined ? undefined : namedVolume(ctx, value, source, target, readOnly, noCopy);
    if (owned) m = owned;
    else if (noCopy !== undefined) m.VolumeOptions = { NoCopy: noCopy };
  } else {
    if (source !== undefined) bad(ctx, value, 'no source for type=tmpfs');
    const sizeText = take('tmpfs-size').value;
    const modeText = take('tmpfs-mode').value;
    if (sizeText !== undefined || modeText !== undefined) {
      m.TmpfsOptions = {};
      if (sizeText !== undefined) m.TmpfsOptions.SizeBytes = size(ctx, sizeText);
      if (modeText !== undefined) {
        if (!/^[0-7]{3,4}$/.test(modeText)) bad(ctx, value, 'tmpfs-mode in octal, such as 1777');
        m.TmpfsOptions.Mode = parseInt(modeText, 8);
      }
    }
  }
  const left = [...fields.keys()];
  if (left.length) bad(ctx, value, `options that --mount type=${type} understands (not "${left[0]}")`);
  list(ctx, 'Mounts').push(m);
}

function device(value: string, ctx: Context): void {
  const parts = value.split(':');
  if (parts.length > 3) bad(ctx, value, 'HOST_PATH[:CONTAINER_PATH][:PERMISSIONS]');
  const hostPath = absolute(ctx, value, parts[0], 'a device path');
  let containerPath = hostPath;
  let permissions = 'rwm';
  if (parts.length === 2 && !parts[1].startsWith('/')) permissions = parts[1];
  else if (parts.length >= 2) containerPath = absolute(ctx, value, parts[1], 'a device path');
  if (parts.length === 3) permissions = parts[2];
  if (!/^(?!.*(.).*\1)[rwm]{1,3}$/.test(permissions)) bad(ctx, value, 'permissions made of r, w and m');
  grant(ctx, 'device', `${ctx.flag} ${value}`);
  list(ctx, 'Devices').push({ PathOnHost: hostPath, PathInContainer: containerPath, CgroupPermissions: permissions } satisfies DeviceMapping);
}

function tmpfs(value: string, ctx: Context): void {
  const colon = value.indexOf(':');
  const path = absolute(ctx, value, colon < 0 ? value : value.slice(0, colon));
  const options = colon < 0 ? '' : value.slice(colon + 1);
  for (const option of options ? options.split(',') : []) {
    const [key, v] = option.split('=', 2);
    const ok = v === undefined ? TMPFS_FLAGS.has(key)
      : key === 'size' ? parseSize(v) !== null
      : key === 'mode' ? /^[0-7]{3,4}$/.test(v)
      : key === 'uid' || key === 'gid' || key === 'nr_inodes' ? /^\d+$/.test(v)
      : false;
    if (!ok) bad(ctx, value, `PATH[:OPTIONS] with options among ${[...TMPFS_FLAGS].join(', ')}, size=SIZE, mode=OCTAL, uid=N, gid=N, nr_inodes=N (not "${option}")`);
  }
  (ctx.out.HostConfig.Tmpfs ??= {})[path] = options;
}

function gpus(value: string, ctx: Context): void {
  // `--gpus '"device=0,1"'` is how the docker CLI wants a list; accept it with or without those quotes.
  const text = /^".*"$/.test(value) ? value.slice(1, -1) : value;
  let count: number;
  let ids: string[] | undefined;
  if (text === 'all' || text === 'count=all') {
    count = -1;
  } else if (/^(count=)?[1-9]\d{0,2}$/.test(text)) {
    count = Number(text.replace('count=', ''));
  } else if (/^device=[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$/.test(text)) {
    count = 0;
    ids = text.slice('device='.length).split(',');
  } else {
    return bad(ctx, value, 'all, a number of GPUs, count=N or device=ID[,ID…]');
  }
  ctx.out.HostConfig.DeviceRequests = [{ Driver: '', Count: count, ...(ids ? { DeviceIDs: ids } : {}), Capabilities: [['gpu']] }];
}

function ulimit(value: string, ctx: Context): void {
  const m = /^([a-z]+)=(-1|\d+)(?::(-1|\d+))?$/.exec(value);
  if (!m || !ULIMITS.has(m[1])) bad(ctx, value, `NAME=SOFT[:HARD] with NAME among ${[...ULIMITS].join(', ')} and whole numbers (-1: unlimited)`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) bad(ctx, value, 'a limit that fits in 53 bits');
  if (hard !== -1 && (soft === -1 || soft > hard)) bad(ctx, value, 'a soft limit no higher than the hard limit');
  const ulimits = list(ctx, 'Ulimits') as Ulimit[];
  const same = ulimits.findIndex((u) => u.Name === m[1]);
  if (same >= 0) ulimits.splice(same, 1);
  ulimits.push({ Name: m[1], Soft: soft, Hard: hard });
}

function choice(ctx: Context, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) bad(ctx, value, allowed.map((a) => `"${a}"`).join(', ').replace(/, ([^,]*)$/, ' or $1'));
  return value;
}

/** A switch takes no value, or `=true` / `=false` as docker does. */
function switchValue(ctx: Context, value: string): boolean {
  if (value === '' || value === 'true') return true;
  if (value === 'false') return false;
  return bad(ctx, value, 'true or false (or no value)');
}

/** The documented set of flags: what each one sets and which need host access. */
export const FLAGS: readonly Flag[] = [
  { names: ['--cpus'], value: 'N', sets: 'HostConfig.NanoCpus (N × 10⁹; fractions allowed)', apply(v, ctx) {
    ctx.out.HostConfig.NanoCpus = parseCpus(v) ?? bad(ctx, v, 'a number of CPUs above 0, such as 1 or 0.5');
  } },
  { names: ['--memory', '-m'], value: 'SIZE', sets: 'HostConfig.Memory (bytes, at least 6m)', apply(v, ctx) {
    ctx.out.HostConfig.Memory = size(ctx, v, MIN_MEMORY);
  } },
  { names: ['--memory-swap'], value: 'SIZE|-1', sets: 'HostConfig.MemorySwap (memory + swap, bytes; -1: unlimited swap; needs --memory)', apply(v, ctx) {
    ctx.out.HostConfig.MemorySwap = v === '-1' ? -1 : size(ctx, v);
  } },
  { names: ['--shm-size'], value: 'SIZE', sets: 'HostConfig.ShmSize (bytes)', apply(v, ctx) {
    ctx.out.HostConfig.ShmSize = size(ctx, v);
  } },
  { names: ['--pids-limit'], value: 'N', sets: 'HostConfig.PidsLimit (at least 1)', apply(v, ctx) {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || !Number.isSafeInteger(n)) bad(ctx, v, 'a whole number of at least 1');
    ctx.out.HostConfig.PidsLimit = n;
  } },
  { names: ['--ulimit'], value: 'NAME=SOFT[:HARD]', sets: 'HostConfig.Ulimits (repeatable; -1: unlimited)', apply: ulimit },
  { names: ['--gpus'], value: 'all|N|count=N|device=ID[,ID…]', sets: 'HostConfig.DeviceRequests (driver default, capability gpu)', apply: gpus },
  { names: ['--env', '-e'], value: 'NAME=VALUE', sets: 'Env (repeatable; the config\'s env wins over it)', apply(v, ctx) {
    const eq = v.indexOf('=');
    if (eq < 0) bad(ctx, v, 'NAME=VALUE (nothing is taken from the host\'s environment)');
    if (!ENV_NAME.test(v.slice(0, eq))) bad(ctx, v, 'NAME=VALUE with a NAME of letters, digits and _, not starting with a digit');
    ctx.out.Env.push(v);
  } },
  { names: ['--label', '-l'], value: 'KEY[=VALUE]', sets: 'Labels (repeatable; keys starting with wharf. are Wharf\'s own)', apply(v, ctx) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (!LABEL_KEY.test(key)) bad(ctx, v, 'KEY[=VALUE] with a KEY of letters, digits, ".", "_", "/", "-" (at most 128)');
    if (/^wharf\./i.test(key)) fail(`${ctx.flag} ${JSON.stringify(v)}: labels starting with wharf. are set by Wharf only`);
    ctx.out.Labels[key] = eq < 0 ? '' : v.slice(eq + 1);
  } },
  { names: ['--user', '-u'], value: 'USER[:GROUP]', sets: 'User (a name or id, optionally with a group)', apply(v, ctx) {
    if (!USER.test(v)) bad(ctx, v, 'USER[:GROUP], each a name or a number');
    ctx.out.User = v;
  } },
  { names: ['--workdir', '-w'], value: 'PATH', sets: 'WorkingDir (the config\'s workdir wins over it)', apply(v, ctx) {
    ctx.out.WorkingDir = absolute(ctx, v, v);
  } },
  { names: ['--hostname', '-h'], value: 'NAME', sets: 'Hostname', apply(v, ctx) {
    if (!HOSTNAME.test(v)) bad(ctx, v, 'a host name (letters, digits, "-" and dots, at most 63)');
    ctx.out.Hostname = v;
  } },
  { names: ['--add-host'], value: 'NAME:IP', sets: 'HostConfig.ExtraHosts (repeatable; IP may be host-gateway)', apply(v, ctx) {
    const sep = v.search(/[:=]/);
    const name = v.slice(0, Math.max(sep, 0));
    const ip = v.slice(sep + 1).replace(/^\[(.*)\]$/, '$1');
    if (sep < 0 || !HOSTNAME.test(name) || (ip !== 'host-gateway' && !isIP(ip))) bad(ctx, v, 'NAME:IP, where IP is an address or host-gateway');
    list(ctx, 'ExtraHosts').push(`${name}:${ip}`);
  } },
  { names: ['--read-only'], sets: 'HostConfig.ReadonlyRootfs', apply(v, ctx) {
    ctx.out.HostConfig.ReadonlyRootfs = switchValue(ctx, v);
  } },
  { names: ['--tmpfs'], value: 'PATH[:OPTIONS]', sets: 'HostConfig.Tmpfs (repeatable)', apply: tmpfs },
  { names: ['--cap-drop'], value: 'CAP', sets: 'HostConfig.CapDrop (repeatable)', apply(v, ctx) {
    list(ctx, 'CapDrop').push(capability(ctx, v));
  } },
  { names: ['--security-opt'], value: 'no-new-privileges[:true]', sets: 'HostConfig.SecurityOpt (only no-new-privileges: options that loosen confinement are not offered)', apply(v, ctx) {
    if (!/^no-new-privileges([:=]true)?$/.test(v)) bad(ctx, v, 'no-new-privileges');
    const opts = list(ctx, 'SecurityOpt');
    if (!opts.includes('no-new-privileges:true')) opts.push('no-new-privileges:true');
  } },
  { names: ['--volume', '-v'], value: '[SOURCE:]TARGET[:OPTIONS]', hostAccess: 'bind-mount', sets: 'HostConfig.Binds (a named volume, or a host path: bind-mount); a lone TARGET is an anonymous volume in Volumes', apply: volume },
  { names: ['--mount'], value: 'type=bind|volume|tmpfs,…', hostAccess: 'bind-mount', sets: 'HostConfig.Mounts (type=bind: bind-mount); keys source/src, target/destination/dst, readonly/ro, bind-propagation, volume-nocopy, tmpfs-size, tmpfs-mode', apply: mount },
  { names: ['--privileged'], hostAccess: 'privileged', sets: 'HostConfig.Privileged (privileged)', apply(v, ctx) {
    const on = switchValue(ctx, v);
    if (on) grant(ctx, 'privileged', ctx.flag);
    ctx.out.HostConfig.Privileged = on;
  } },
  { names: ['--cap-add'], value: 'CAP', hostAccess: 'cap-add', sets: 'HostConfig.CapAdd (repeatable; cap-add)', apply(v, ctx) {
    const cap = capability(ctx, v);
    grant(ctx, 'cap-add', `${ctx.flag} ${v}`);
    list(ctx, 'CapAdd').push(cap);
  } },
  { names: ['--device'], value: 'HOST_PATH[:CONTAINER_PATH][:rwm]', hostAccess: 'device', sets: 'HostConfig.Devices (repeatable; device)', apply: device },
  { names: ['--network', '--net'], value: 'none|bridge|host', hostAccess: 'network-host', sets: 'HostConfig.NetworkMode (bridge, the default: Wharf\'s app network, where apps cannot reach each other; host: network-host)', apply(v, ctx) {
    const mode = choice(ctx, v, ['none', 'bridge', 'host']);
    if (mode === 'host') grant(ctx, 'network-host', `${ctx.flag} host`);
    // Docker's own bridge lets containers reach each other: "bridge" is the agent's app network, the default.
    if (mode === 'bridge') delete ctx.out.HostConfig.NetworkMode;
    else ctx.out.HostConfig.NetworkMode = mode;
  } },
  { names: ['--pid'], value: 'host', hostAccess: 'pid-host', sets: 'HostConfig.PidMode (pid-host)', apply(v, ctx) {
    choice(ctx, v, ['host']);
    grant(ctx, 'pid-host', `${ctx.flag} host`);
    ctx.out.HostConfig.PidMode = v;
  } },
  { names: ['--ipc'], value: 'private|shareable|none|host', hostAccess: 'ipc-host', sets: 'HostConfig.IpcMode (host: ipc-host)', apply(v, ctx) {
    if (choice(ctx, v, ['private', 'shareable', 'none', 'host']) === 'host') grant(ctx, 'ipc-host', `${ctx.flag} host`);
    ctx.out.HostConfig.IpcMode = v;
  } },
];

const BY_NAME = new Map(FLAGS.flatMap((f) => f.names.map((n) => [n, f] as const)));

/** Why some familiar `docker run` flags are absent, so that the error says what to do instead. */
const HINTS: Record<string, string> = {
  '--publish': 'routing.port says which port Wharf publishes',
  '-p': 'routing.port says which port Wharf publishes',
  '-P': 'routing.port says which port Wharf publishes',
  '--publish-all': 'routing.port says which port Wharf publishes',
  '--name': 'Wharf names the container after the instance',
  '--entrypoint': 'command replaces the image\'s entrypoint',
  '--rm': 'Wharf runs and removes the container itself',
  '--detach': 'Wharf runs and removes the container itself',
  '-d': 'Wharf runs and removes the container itself',
  '-i': 'Wharf runs the container detached, without a terminal',
  '-t': 'Wharf runs the container detached, without a terminal',
  '--interactive': 'Wharf runs the container detached, without a terminal',
  '--tty': 'Wharf runs the container detached, without a terminal',
  '--env-file': 'put the variables in env',
  '--restart': 'Wharf decides what happens when the app exits',
};

/**
 * Parses `containerArgs` into Docker create fields. Throws a ValidationError on field
 * `containerArgs` that names the flag: an unsupported flag, a bad value, or a host-access
 * flag the policy does not allow.
 */
export function parseContainerArgs(text: string, policy: ContainerArgsPolicy): ContainerArgs {
  let words: string[];
  try {
    words = splitShellWords(text);
  } catch (err) {
    if (err instanceof ShellWordsError) fail(err.message);
    throw err;
  }
  const out: ContainerArgs = { Env: [], Labels: {}, HostConfig: {}, hostAccess: [] };
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!/^-[^-]|^--./.test(word)) fail(`unexpected argument ${JSON.stringify(word)}: containerArgs holds only flags (the program and its arguments go in command)`);
    let name: string;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      name = eq < 0 ? word : word.slice(0, eq);
      inline = eq < 0 ? undefined : word.slice(eq + 1);
    } else {
      // -m1g, -m=1g and -m 1g, as docker's flag parser allows.
      name = word.slice(0, 2);
      inline = word.length > 2 ? word.slice(word[2] === '=' ? 3 : 2) : undefined;
    }
    const flag = BY_NAME.get(name);
    if (!flag) fail(`unsupported flag ${name}${HINTS[name] ? ` (${HINTS[name]})` : ''}`);
    let value: string;
    if (flag.value === undefined) {
      value = inline ?? '';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= words.length) fail(`${name} needs a value: ${flag.value}`);
      value = words[++i];
    }
    flag.apply(value, { flag: name, out, policy });
  }
  const { Memory, MemorySwap } = out.HostConfig;
  if (MemorySwap !== undefined && MemorySwap !== -1) {
    if (Memory === undefined) fail('--memory-swap needs --memory as well (it is memory plus swap)');
    if (MemorySwap < Memory) fail('--memory-swap must be at least --memory (it is memory plus swap)');
  }
  return out;
}

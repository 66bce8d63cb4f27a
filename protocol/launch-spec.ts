import { Type, type Static } from '@sinclair/typebox';
import { AppFile, Workspace } from './app-config.ts';
import { parse } from './validate.ts';

/*
 * The launch spec: what an app kind in `apps/` compiles an app config into, what control
 * stores with a queued instance and what an agent runs (DESIGN.md, "One launch, end to
 * end"). It is plain data, complete and resolved: the agent reads no app config, knows no
 * app kind's rules, and adds only what belongs to its host:
 *
 * - the contract labels `wharf.type=application`, `wharf.instance=<id>`, `wharf.agent=<id>`
 *   and WHARF_LABELS, on top of `labels`;
 * - `limits.memory ?? WHARF_DEFAULT_MEMORY` as HostConfig.Memory and
 *   `limits.nanoCpus ?? WHARF_DEFAULT_CPUS × 10⁹` as HostConfig.NanoCpus;
 * - the published port of each entry of `ports`, bound to WHARF_AGENT_BIND;
 * - isolation (docs/isolation-containers.md): every app that neither uses the host's network
 *   nor none joins Wharf's app network, where containers cannot open connections to each
 *   other (a `NetworkMode` of "bridge" means that network too), and loses NET_RAW unless
 *   `CapAdd` gives it back; a volume mount labelled with `LABEL_OWNER` is refused when a
 *   volume of that name exists that is not that owner's.
 *
 * Field names under `docker` are the Docker Engine API's (container create, API v1.41).
 */

/**
 * On a named volume a non-admin mounts: the user (one day, the project) it belongs to. Such a
 * volume's name is in its owner's namespace (apps/container-args.ts), and the agent mounts an
 * existing volume of that name only when it carries this label with the same owner.
 */
export const LABEL_OWNER = 'wharf.owner';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Strings = Type.Array(Type.String());

export const Ulimit = Type.Object({ Name: Type.String(), Soft: Type.Integer(), Hard: Type.Integer() }, { additionalProperties: false });

/** `--gpus`: Count -1 is every GPU; DeviceIDs picks GPUs by index or UUID (Count is then 0). */
export const DeviceRequest = Type.Object({
  Driver: Type.String(),
  Count: Type.Integer({ minimum: -1 }),
  DeviceIDs: Type.Optional(Strings),
  Capabilities: Type.Array(Strings),
}, { additionalProperties: false });

export const Mount = Type.Object({
  Type: Type.Union([Type.Literal('bind'), Type.Literal('volume'), Type.Literal('tmpfs')]),
  Source: Type.Optional(Type.String()),
  Target: Type.String(),
  ReadOnly: Type.Optional(Type.Boolean()),
  BindOptions: Type.Optional(Type.Object({ Propagation: Type.String() }, { additionalProperties: false })),
  VolumeOptions: Type.Optional(Type.Object({
    NoCopy: Type.Optional(Type.Boolean()),
    /** Set on the volume when this mount creates it; `LABEL_OWNER` marks a user's own volume. */
    Labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  }, { additionalProperties: false })),
  TmpfsOptions: Type.Optional(Type.Object({
    SizeBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    Mode: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export const DeviceMapping = Type.Object({
  PathOnHost: Type.String(),
  PathInContainer: Type.String(),
  CgroupPermissions: Type.String(),
}, { additionalProperties: false });

/** The HostConfig fields that `containerArgs` may set, apart from the limits (see `Limits`). */
export const HostConfig = Type.Object({
  ShmSize: Type.Optional(Type.Integer({ minimum: 1 })), // bytes
  MemorySwap: Type.Optional(Type.Integer({ minimum: -1 })), // bytes of memory + swap; -1 unlimited swap
  PidsLimit: Type.Optional(Type.Integer({ minimum: 1 })),
  Ulimits: Type.Optional(Type.Array(Ulimit)),
  DeviceRequests: Type.Optional(Type.Array(DeviceRequest)),
  ExtraHosts: Type.Optional(Strings), // "name:ip"
  ReadonlyRootfs: Type.Optional(Type.Boolean()),
  Tmpfs: Type.Optional(Type.Record(Type.String(), Type.String())), // path → mount options
  CapAdd: Type.Optional(Strings),
  CapDrop: Type.Optional(Strings),
  SecurityOpt: Type.Optional(Strings),
  Privileged: Type.Optional(Type.Boolean()),
  Binds: Type.Optional(Strings), // "source:target[:options]"
  Mounts: Type.Optional(Type.Array(Mount)),
  Devices: Type.Optional(Type.Array(DeviceMapping)),
  NetworkMode: Type.Optional(Type.String()),
  PidMode: Type.Optional(Type.String()),
  IpcMode: Type.Optional(Type.String()),
}, { additionalProperties: false });

/** Container-create fields outside HostConfig that a spec may set; env, labels and workdir have fields of their own. */
export const DockerOptions = Type.Object({
  User: Type.Optional(Type.String()),
  Hostname: Type.Optional(Type.String()),
  Volumes: Type.Optional(Type.Record(Type.String(), Type.Object({}, { additionalProperties: false }))), // anonymous volumes
  HostConfig,
}, { additionalProperties: false });

/** null: the agent's default (WHARF_DEFAULT_MEMORY, WHARF_DEFAULT_CPUS). */
export const Limits = Type.Object({
  memory: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), // bytes
  nanoCpus: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), // 10⁻⁹ CPUs: 1.5 CPUs is 1_500_000_000
}, { additionalProperties: false });

/**
 * When the app counts as started. `http`: any HTTP response on `port` at `path`, whatever its
 * status (an app may well answer 404 or 401 at `/`). `tcp`: a connection that the app keeps
 * open or answers on; docker-proxy accepts and then closes connections on a published port
 * before the app listens, so a bare accept proves nothing (DESIGN.md). `none`: started once
 * the container runs.
 */
export const ReadinessProbe = Type.Union([
  Type.Object({ kind: Type.Literal('http'), port: Port, path: Type.String({ pattern: '^/' }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('tcp'), port: Port }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
]);

/**
 * The app's own activity signal, sampled by the agent beside CPU, GPU, memory and network.
 * Container apps have none. `jupyter`: the agent asks the Jupyter server on `port` (through
 * its published port) for `path` (`/api/status`: last_activity) and `/api/kernels` (a busy
 * kernel is activity now), sending `Authorization: token <env[tokenEnv]>`, and reports the
 * newest as the sample's `activityAt` (agent/monitoring/activity-probe.ts).
 */
export const ActivityProbe = Type.Union([
  Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('jupyter'),
    port: Port,
    path: Type.String({ pattern: '^/' }),
    /** The spec's env variable holding Jupyter's token. */
    tokenEnv: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  }, { additionalProperties: false }),
]);

export const LaunchSpec = Type.Object({
  app: Type.Union([Type.Literal('container'), Type.Literal('jupyter')]),
  image: Type.String({ minLength: 1 }),
  /** Replaces the image's Entrypoint (argv[0]) and Cmd (the rest); null keeps both. */
  argv: Type.Union([Type.Array(Type.String(), { minItems: 1 }), Type.Null()]),
  /** null keeps the image's WorkingDir. */
  workdir: Type.Union([Type.String({ pattern: '^/' }), Type.Null()]),
  env: Type.Record(Type.String(), Type.String()),
  /** Written into the container before it starts. */
  files: Type.Array(AppFile),
  /**
   * The container ports to publish on the host, each with how the gateway routes it. With
   * `docker.HostConfig.NetworkMode` "host" nothing is published: the app listens on the host.
   */
  ports: Type.Array(Type.Object({ port: Port, routing: Type.Union([Type.Literal('https'), Type.Literal('tcp')]) }, { additionalProperties: false })),
  workspace: Workspace,
  readiness: ReadinessProbe,
  activity: ActivityProbe,
  limits: Limits,
  labels: Type.Record(Type.String(), Type.String()),
  docker: DockerOptions,
  /** The host-access rules the spec uses (see apps/container-args.ts), kept for the audit trail. */
  hostAccess: Strings,
  /**
   * SECRET. Headers the gateway adds upstream on every request of the app's route (control
   * copies them into the route's `headers`): how Jupyter gets its own token, which only the
   * gateway knows. Never shown: not in the instance view, the config export, logs or the
   * gateway's `GET /routes` (values hidden there).
   */
  routeHeaders: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), Type.String({ pattern: '^[^\\x00-\\x1f\\x7f]*$' }))),
}, { additionalProperties: false });

export type Ulimit = Static<typeof Ulimit>;
export type DeviceRequest = Static<typeof DeviceRequest>;
export type Mount = Static<typeof Mount>;
export type DeviceMapping = Static<typeof DeviceMapping>;
export type HostConfig = Static<typeof HostConfig>;
export type DockerOptions = Static<typeof DockerOptions>;
export type Limits = Static<typeof Limits>;
export type ReadinessProbe = Static<typeof ReadinessProbe>;
export type ActivityProbe = Static<typeof ActivityProbe>;
export type LaunchSpec = Static<typeof LaunchSpec>;

/** Checks a launch spec received over the wire (an agent reading its job). */
export function parseLaunchSpec(value: unknown, field = 'spec'): LaunchSpec {
  return parse(LaunchSpec, value, field);
}

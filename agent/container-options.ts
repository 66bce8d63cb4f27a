import type { ContainerCreateOptions, HostConfig as EngineHostConfig } from 'dockerode';
import { Type } from '@sinclair/typebox';
import { ActivityProbe, LABEL_OWNER, LaunchSpec as LaunchSpecSchema, ReadinessProbe, type LaunchSpec, type Mount } from '../protocol/launch-spec.ts';
import { parse } from '../protocol/validate.ts';

/*
 * A launch spec plus what belongs to this host → Docker's container-create body. Pure, so
 * that what reaches the Engine is tested without one. The spec is complete and resolved
 * (protocol/launch-spec.ts); the agent adds only the contract labels, its default limits, the
 * published ports and the isolation every app gets (docs/isolation-containers.md): Wharf's app
 * network and no NET_RAW.
 */

export const LABEL_TYPE = 'wharf.type';
export const LABEL_INSTANCE = 'wharf.instance';
export const LABEL_AGENT = 'wharf.agent';
export const APPLICATION = 'application';
/** What a restarted agent needs to adopt the container: its ports and readiness probe (never env: it may hold secrets). */
export const LABEL_PORTS = 'wharf.ports';
export const LABEL_READINESS = 'wharf.readiness';
/** The app's activity probe (Jupyter's /api/status): its token stays in the container's env, never in a label. */
export const LABEL_ACTIVITY = 'wharf.activity';
/** The workspace's path and excludes, so that a restarted agent snapshots an adopted app's workspace too. */
export const LABEL_WORKSPACE = 'wharf.workspace';
/** `wharf.type` of a workspace volume. */
export const WORKSPACE = 'workspace';
/** `wharf.type` of a user's own named volume (apps/container-args.ts): their data, which neither stop nor prune removes. */
export const OWNED_VOLUME = 'volume';

export interface HostDefaults {
  agentId: string;
  /** WHARF_LABELS: on every container, below the contract labels. */
  labels: [string, string][];
  /** WHARF_AGENT_BIND: the host address ports are published on. */
  bind: string;
  /** Wharf's app network (agent/isolation/app-network.ts), which every app that is not on host or none joins. */
  network: string;
  memory: number;
  nanoCpus: number;
}

export const containerName = (instance: string) => `wharf-${instance}`;

/** The Docker volume holding an instance's workspace. */
export const volumeName = (instance: string) => `wharf-ws-${instance}`;

/** The labels of an instance's workspace volume: WHARF_LABELS, then the contract labels. */
export function volumeLabels(instance: string, host: HostDefaults): Record<string, string> {
  return { ...Object.fromEntries(host.labels), [LABEL_TYPE]: WORKSPACE, [LABEL_INSTANCE]: instance, [LABEL_AGENT]: host.agentId };
}

/** Whether the app shares the host's network: its ports are then the host's, nothing is published. */
export const usesHostNetwork = (spec: LaunchSpec) => spec.docker.HostConfig.NetworkMode === 'host';

/**
 * The app's network: host and none as asked (host needs an admin's leave); anything else,
 * "bridge" included, is Wharf's app network, where containers cannot reach each other.
 */
function networkMode(spec: LaunchSpec, host: HostDefaults): string {
  const mode = spec.docker.HostConfig.NetworkMode;
  return mode === 'host' || mode === 'none' ? mode : host.network;
}

/**
 * NET_RAW dropped unless the spec gives it back (`--cap-add`, `--privileged`: an admin's
 * leave): with raw and packet sockets, a container on a shared bridge could spoof ARP and
 * read the gateway's traffic to another app, which carries that app's token.
 */
function capDrop(spec: LaunchSpec): string[] {
  const { CapAdd = [], CapDrop = [], Privileged } = spec.docker.HostConfig;
  const given = Privileged || CapAdd.includes('NET_RAW') || CapAdd.includes('ALL');
  const dropped = CapDrop.includes('NET_RAW') || CapDrop.includes('ALL');
  return given || dropped ? CapDrop : [...CapDrop, 'NET_RAW'];
}

/** A user's own volume mount gets WHARF_LABELS and its type beside its owner, for when Docker creates it. */
function labelOwnedVolume(m: Mount, host: HostDefaults): Mount {
  const labels = m.VolumeOptions?.Labels;
  if (m.Type !== 'volume' || labels?.[LABEL_OWNER] === undefined) return m;
  return { ...m, VolumeOptions: { ...m.VolumeOptions, Labels: { ...Object.fromEntries(host.labels), ...labels, [LABEL_TYPE]: OWNED_VOLUME } } };
}

export function containerOptions(instance: string, spec: LaunchSpec, host: HostDefaults): ContainerCreateOptions {
  const published = usesHostNetwork(spec) ? [] : spec.ports.map((p) => `${p.port}/tcp`);
  const { HostConfig, ...docker } = spec.docker;
  return {
    name: containerName(instance),
    Image: spec.image,
    // argv replaces both: with Entrypoint set, Docker ignores the image's Cmd as well.
    ...(spec.argv && { Entrypoint: [spec.argv[0]], Cmd: spec.argv.slice(1) }),
    ...(spec.workdir !== null && { WorkingDir: spec.workdir }),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    // The contract labels last: neither the app nor WHARF_LABELS can fake whose container it is.
    Labels: {
      ...spec.labels,
      ...Object.fromEntries(host.labels),
      [LABEL_TYPE]: APPLICATION,
      [LABEL_INSTANCE]: instance,
      [LABEL_AGENT]: host.agentId,
      [LABEL_PORTS]: JSON.stringify(spec.ports),
      [LABEL_READINESS]: JSON.stringify(spec.readiness),
      [LABEL_ACTIVITY]: JSON.stringify(spec.activity),
      [LABEL_WORKSPACE]: JSON.stringify({ path: spec.workspace.path, exclude: spec.workspace.exclude }),
    },
    ...docker,
    ExposedPorts: Object.fromEntries(published.map((p) => [p, {}])),
    // The spec's fields are the Engine's (API v1.41); @types/dockerode wants Source on every mount, tmpfs has none.
    HostConfig: {
      ...(HostConfig as EngineHostConfig),
      NetworkMode: networkMode(spec, host),
      CapDrop: capDrop(spec),
      // The workspace lives on the instance's own volume: it outlives the container until its snapshot is uploaded.
      Mounts: [
        ...(HostConfig.Mounts ?? []).map((m) => labelOwnedVolume(m, host) as never),
        { Type: 'volume', Source: volumeName(instance), Target: spec.workspace.path, ReadOnly: false, VolumeOptions: { Labels: volumeLabels(instance, host) } } as never,
      ],
      Memory: spec.limits.memory ?? host.memory,
      NanoCpus: spec.limits.nanoCpus ?? host.nanoCpus,
      // HostPort "": Docker picks a free port, race-free, at start.
      PortBindings: Object.fromEntries(published.map((p) => [p, [{ HostIp: host.bind, HostPort: '' }]])),
      RestartPolicy: { Name: 'no' },
      // docker-init (tini) as PID 1: SIGTERM reaches `sh -c …` apps, which as PID 1 would ignore it
      // and wait out the stop timeout; zombies of notebook kernels are reaped.
      Init: true,
    },
  };
}

/** The host port Docker published `port` on, from `docker inspect`'s NetworkSettings.Ports. */
export function publishedPort(ports: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined, port: number): number | undefined {
  const bindings = ports?.[`${port}/tcp`];
  const hostPort = Number(bindings?.[0]?.HostPort);
  return Number.isInteger(hostPort) && hostPort > 0 ? hostPort : undefined;
}

const AdoptedPorts = Type.Index(LaunchSpecSchema, ['ports']);

/**
 * The spec of a container found at start, from its labels: enough to probe it and report its
 * endpoint again. Labels that do not parse give an app with no port (it keeps running, unrouted).
 */
export function adoptedSpec(image: string, labels: Record<string, string>, containerEnv: string[] = []): LaunchSpec {
  let ports: LaunchSpec['ports'] = [];
  let readiness: LaunchSpec['readiness'] = { kind: 'none' };
  // No label (a container of an older agent): path "" means no workspace to snapshot.
  let workspace: LaunchSpec['workspace'] = { path: '', restoreFrom: null, exclude: [] };
  try {
    const w = JSON.parse(labels[LABEL_WORKSPACE] ?? 'null') as { path?: unknown; exclude?: unknown } | null;
    if (w && typeof w.path === 'string' && w.path.startsWith('/') && Array.isArray(w.exclude) && w.exclude.every((e) => typeof e === 'string')) {
      workspace = { path: w.path, restoreFrom: null, exclude: w.exclude as string[] };
    }
  } catch { /* no workspace */ }
  try {
    ports = parse(AdoptedPorts, JSON.parse(labels[LABEL_PORTS] ?? '[]'), LABEL_PORTS) as LaunchSpec['ports'];
    readiness = parse(ReadinessProbe, JSON.parse(labels[LABEL_READINESS] ?? '{"kind":"none"}'), LABEL_READINESS);
  } catch { /* keep the defaults */ }
  let activity: LaunchSpec['activity'] = { kind: 'none' };
  const env: Record<string, string> = {};
  try {
    activity = parse(ActivityProbe, JSON.parse(labels[LABEL_ACTIVITY] ?? '{"kind":"none"}'), LABEL_ACTIVITY);
    // Only the variable the probe reads (Jupyter's token) is taken back from the container.
    if (activity.kind === 'jupyter') {
      const prefix = `${activity.tokenEnv}=`;
      const found = containerEnv.find((e) => e.startsWith(prefix));
      if (found) env[activity.tokenEnv] = found.slice(prefix.length);
      else activity = { kind: 'none' };
    }
  } catch { /* no probe */ }
  return {
    app: 'container', image, argv: null, workdir: null, env, files: [], ports,
    workspace,
    readiness, activity, limits: { memory: null, nanoCpus: null }, labels: {},
    docker: { HostConfig: {} }, hostAccess: [],
  };
}

import type { ContainerAppConfig } from '../protocol/app-config.ts';
import type { LaunchSpec, ReadinessProbe } from '../protocol/launch-spec.ts';
import { splitShellWords } from '../protocol/shell-words.ts';
import { Problems, ValidationError } from '../protocol/validate.ts';
import { parseContainerArgs, type ContainerArgsPolicy } from './container-args.ts';

/** Who submits the config decides which host-access flags its containerArgs may use. */
export type CompileOptions = ContainerArgsPolicy;

/**
 * Compiles a container app config (already checked by `parseAppConfig`) into a launch spec.
 * `command` replaces the image's entrypoint and command; `containerArgs` becomes Docker
 * options, with the config's own fields winning where both say the same thing (`env` over
 * `-e`, `workdir` over `-w`); `--memory` and `--cpus` become the limits, which the agent
 * fills from its defaults when they are absent. Throws one ValidationError naming every
 * mistake: a missing routing.port, a `containerArgs` flag that is unsupported, malformed or
 * not allowed to this submitter.
 */
export function compileContainer(config: ContainerAppConfig, options: CompileOptions): LaunchSpec {
  // Every mistake at once: a bad containerArgs does not hide a missing routing.port.
  const problems = new Problems();
  const { mode, port } = config.routing;
  if (mode !== 'none' && port === undefined) problems.add('routing.port', `is required when routing.mode is "${mode}"`);
  let args: ReturnType<typeof parseContainerArgs> | undefined;
  try {
    args = parseContainerArgs(config.containerArgs, options);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const p of err.problems) problems.add(p.field, p.message);
  }
  if (args && mode !== 'none' && args.HostConfig.NetworkMode === 'none') {
    problems.add('containerArgs', `--network none leaves the app unreachable: drop it, or set routing.mode to "none"`);
  }
  problems.throwIfAny();
  if (!args) throw new Error('unreachable: parseContainerArgs neither answered nor refused');
  const argv = splitShellWords(config.command);
  const { Memory, NanoCpus, ...hostConfig } = args.HostConfig;
  const fromArgs = Object.fromEntries(args.Env.map((pair) => {
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }));
  return {
    app: 'container',
    image: config.image,
    argv: argv.length ? argv : null,
    workdir: config.workdir || args.WorkingDir || null,
    env: { ...fromArgs, ...config.env },
    files: structuredClone(config.files),
    ports: mode === 'none' ? [] : [{ port: port!, routing: mode }],
    workspace: structuredClone(config.workspace),
    readiness: readiness(mode, port),
    activity: { kind: 'none' },
    limits: { memory: Memory ?? null, nanoCpus: NanoCpus ?? null },
    labels: args.Labels,
    docker: {
      ...(args.User !== undefined && { User: args.User }),
      ...(args.Hostname !== undefined && { Hostname: args.Hostname }),
      ...(args.Volumes !== undefined && { Volumes: args.Volumes }),
      HostConfig: hostConfig,
    },
    hostAccess: args.hostAccess,
  };
}

/** An https app is ready when it answers HTTP; a tcp app when it holds a connection; otherwise once it runs. */
function readiness(mode: ContainerAppConfig['routing']['mode'], port: number | undefined): ReadinessProbe {
  if (mode === 'https') return { kind: 'http', port: port!, path: '/' };
  if (mode === 'tcp') return { kind: 'tcp', port: port! };
  return { kind: 'none' };
}

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { splitShellWords, ShellWordsError } from './shell-words.ts';
import { check, Problems, ValidationError } from './validate.ts';

/*
 * The app config of DESIGN.md ("App config (contract)"): what a user submits, what export
 * returns and import accepts. `parseAppConfig` checks it and fills every default, so an
 * exported config is complete and `parseAppConfig(parseAppConfig(x))` equals
 * `parseAppConfig(x)`.
 *
 * Defaults (both kinds unless said):
 *   kind "wharf.app-config", version 1         (so a hand-written config may leave them out)
 *   name ""                                    (control shows the instance id instead)
 *   project "Apps" (container), "Interactive Session" (jupyter)
 *   tags [], queue "default"
 *   image                                      required (container), "wharf/jupyter:local" (jupyter)
 *   command ""                                 (the image's own entrypoint and command)
 *   workdir ""                                 (the image's own working directory)
 *   containerArgs "", env {}, files []
 *   files[].mode "0644"
 *   routing.mode "https"; routing.port required unless mode is "none" (container), 8888 (jupyter)
 *   idle.maxHours 24                           hours; a fraction is fine (0.005 h = 18 s)
 *   idle.networkMBps 0.05                      megabytes per second, in and out together
 *   idle.cpuPercent 5                          percent of the container's CPU limit (else of all cores)
 *   idle.gpuPercent 5                          percent utilisation of the busiest GPU
 *   (an instance is quiet while every signal, and gateway traffic, stays under its threshold)
 *   workspace.path "/root/workspace", workspace.restoreFrom null, workspace.exclude []
 *   git.repo "", git.branch "" (the remote's default), git.commit "" (the branch's tip),
 *   git.storeInSnapshot true; extraPackages [], initScript ""   (jupyter only)
 *
 * Limits, so that one config cannot fill control's database or an agent's disk:
 *   name, project ≤ 100 characters; tags ≤ 20, each 1–40 characters; queue ≤ 63 characters
 *   image ≤ 255 characters; command ≤ 16 KiB; containerArgs ≤ 4 KiB; paths ≤ 4096 characters
 *   env ≤ 200 variables, names ≤ 255 characters, values ≤ 32 KiB
 *   files ≤ 50, contents ≤ 1 MiB (UTF-8 bytes) all files together
 *   idle.maxHours ≤ 8760 (a year)
 *   workspace.exclude ≤ 100 patterns of ≤ 255 characters
 *   extraPackages ≤ 100 requirements of ≤ 200 characters; initScript ≤ 64 KiB
 */

export const LIMITS = {
  nameChars: 100,
  tags: 20,
  tagChars: 40,
  commandChars: 16 * 1024,
  containerArgsChars: 4 * 1024,
  pathChars: 4096,
  envVars: 200,
  envNameChars: 255,
  envValueChars: 32 * 1024,
  files: 50,
  filesBytes: 1024 * 1024, // all contents together, UTF-8 bytes
  maxHours: 8760, // a year
  excludes: 100,
  excludeChars: 255,
  extraPackages: 100,
  packageChars: 200,
  initScriptChars: 64 * 1024,
} as const;

/** One line of text people read: no control characters. */
const Line = (maxLength: number, options: object = {}) =>
  Type.String({ maxLength, pattern: '^[^\\x00-\\x1f\\x7f]*$', description: `text of at most ${maxLength} characters on one line`, ...options });

/** A DNS label, as route ids and instance ids are. */
const InstanceId = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', description: 'an instance id (a-z, 0-9 and inner dashes, at most 63)' });

/**
 * A Docker image reference, `[registry[:port]/]name[/name…][:tag][@sha256:digest]` (the
 * grammar of distribution/reference, names in lower case).
 */
const imageRef = (options: object = {}) => Type.String({
  maxLength: 255,
  pattern: '^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$',
  description: 'a Docker image reference such as wharf/busybox:local',
  ...options,
});

/** A path inside the container; the rules that need words (`..`, `/`) are checked in `checkPath`. */
const absolutePath = (options: object = {}) =>
  Type.String({ minLength: 1, maxLength: LIMITS.pathChars, pattern: '^/[^\\x00]*$', description: 'an absolute path (starting with /)', ...options });

export const AppFile = Type.Object({
  path: absolutePath(),
  content: Type.String(),
  // Permission bits only: no setuid, setgid or sticky bit in files a user injects.
  mode: Type.String({ pattern: '^0[0-7]{3}$', default: '0644', description: 'an octal file mode such as "0644"' }),
}, { additionalProperties: false });

const port = (options: object = {}) => Type.Integer({ minimum: 1, maximum: 65535, description: 'a port from 1 to 65535', ...options });
const RoutingMode = Type.Union([Type.Literal('none'), Type.Literal('tcp'), Type.Literal('https')], {
  default: 'https', description: '"none", "tcp" or "https"',
});

const Idle = Type.Object({
  maxHours: Type.Number({ exclusiveMinimum: 0, maximum: LIMITS.maxHours, default: 24, description: `a number of hours above 0 and at most ${LIMITS.maxHours} (fractions allowed)` }),
  networkMBps: Type.Number({ minimum: 0, default: 0.05, description: 'megabytes per second, 0 or more' }),
  cpuPercent: Type.Number({ minimum: 0, default: 5, description: 'a percentage of the container\'s CPU limit, 0 or more' }),
  gpuPercent: Type.Number({ minimum: 0, maximum: 100, default: 5, description: 'a percentage from 0 to 100' }),
}, { additionalProperties: false, default: {} });

export const Workspace = Type.Object({
  // `~` is the home folder of the container's user, resolved by the agent from the image.
  path: Type.String({ minLength: 1, maxLength: LIMITS.pathChars, pattern: '^(/|~/|~$)[^\\x00]*$', default: '/root/workspace', description: 'an absolute path, or one starting with ~/ (the container user\'s home)' }),
  restoreFrom: Type.Union([InstanceId, Type.Null()], { default: null, description: 'an instance id or null' }),
  exclude: Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.excludeChars, pattern: '^[^/\\x00][^\\x00]*$', description: `a path or pattern relative to the workspace (not starting with /, at most ${LIMITS.excludeChars} characters)` }), {
    maxItems: LIMITS.excludes, default: [],
  }),
}, { additionalProperties: false, default: {} });

/*
 * The fields both kinds share, in four groups so that each kind's schema lists its fields in
 * the order of DESIGN.md's example; errors are found, and exports written, in that order.
 */
const Head = {
  kind: Type.Literal('wharf.app-config', { default: 'wharf.app-config', description: '"wharf.app-config"' }),
  version: Type.Literal(1, { default: 1, description: '1 (the only version so far)' }),
};

function about(project: string) {
  return {
    name: Line(LIMITS.nameChars, { default: '' }),
    project: Line(LIMITS.nameChars, { minLength: 1, default: project }),
    tags: Type.Array(Line(LIMITS.tagChars, { minLength: 1, description: `a tag of 1 to ${LIMITS.tagChars} characters on one line` }), {
      maxItems: LIMITS.tags, uniqueItems: true, default: [], description: `a list of at most ${LIMITS.tags} different tags`,
    }),
    // A queue name ends up in WHARF_QUEUES=a,b: no commas or spaces.
    queue: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', default: 'default', description: 'a queue name (letters, digits, ".", "_", "-"; at most 63)' }),
  };
}

const Run = {
  command: Type.String({ maxLength: LIMITS.commandChars, default: '' }),
  workdir: Type.String({ maxLength: LIMITS.pathChars, pattern: '^(/[^\\x00]*)?$', default: '', description: 'an absolute path, or "" for the image\'s own' }),
  containerArgs: Type.String({ maxLength: LIMITS.containerArgsChars, default: '' }),
  env: Type.Record(Type.String(), Type.String({ maxLength: LIMITS.envValueChars, pattern: '^[^\\x00]*$', description: `a string without NUL characters, at most ${LIMITS.envValueChars} characters` }), {
    maxProperties: LIMITS.envVars, default: {}, description: `an object of at most ${LIMITS.envVars} variables`,
  }),
  files: Type.Array(AppFile, { maxItems: LIMITS.files, default: [], description: `a list of at most ${LIMITS.files} files` }),
};

const Lifetime = { idle: Idle, workspace: Workspace };

/** The projects that exist from the start, the kinds' defaults: anyone launches there, and nobody is a member. */
export const BUILT_IN_PROJECTS: readonly string[] = ['Interactive Session', 'Apps'];

export const ContainerAppConfig = Type.Object({
  ...Head,
  app: Type.Literal('container'),
  ...about(BUILT_IN_PROJECTS[1]),
  image: imageRef(),
  ...Run,
  routing: Type.Object({ mode: RoutingMode, port: Type.Optional(port()) }, { additionalProperties: false, default: {} }),
  ...Lifetime,
}, { additionalProperties: false });

/** A requirement pip understands, in a conservative subset: `name[extra,…]` and version clauses, no spaces, URLs, markers or options. */
const PipRequirement = Type.String({
  maxLength: LIMITS.packageChars,
  pattern: '^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\\[[A-Za-z0-9._-]+(?:,[A-Za-z0-9._-]+)*\\])?(?:(?:===|==|!=|~=|>=|<=|<|>)[A-Za-z0-9.*+!_-]+(?:,(?:===|==|!=|~=|>=|<=|<|>)[A-Za-z0-9.*+!_-]+)*)?$',
  description: 'a pip requirement such as pandas, pandas==2.2.1 or numpy>=1.26,<2 (no spaces, URLs, markers or options)',
});

export const GitSource = Type.Object({
  repo: Type.String({ maxLength: 2048, pattern: '^(https://[^\\s\\x00]+)?$', default: '', description: 'an https:// URL, or "" for none' }),
  // The parts of git-check-ref-format(1) that matter here; `..` and a leading `-` are checked in words below.
  branch: Type.String({ maxLength: 255, pattern: '^([A-Za-z0-9._][A-Za-z0-9._/-]*)?$', default: '', description: 'a branch name, or "" for the remote\'s default' }),
  commit: Type.String({ pattern: '^([0-9a-f]{7,64})?$', default: '', description: 'a commit hash in lower-case hex (7 to 64 digits), or "" for the branch\'s tip' }),
  storeInSnapshot: Type.Boolean({ default: true }),
}, { additionalProperties: false, default: {} });

export const JupyterAppConfig = Type.Object({
  ...Head,
  app: Type.Literal('jupyter'),
  ...about(BUILT_IN_PROJECTS[0]),
  image: imageRef({ default: 'wharf/jupyter:local' }),
  ...Run,
  // Jupyter serves on 8888 unless the config says otherwise.
  routing: Type.Object({ mode: RoutingMode, port: port({ default: 8888 }) }, { additionalProperties: false, default: {} }),
  ...Lifetime,
  git: GitSource,
  extraPackages: Type.Array(PipRequirement, { maxItems: LIMITS.extraPackages, default: [], description: `a list of at most ${LIMITS.extraPackages} pip requirements` }),
  initScript: Type.String({ maxLength: LIMITS.initScriptChars, pattern: '^[^\\x00]*$', default: '', description: `a script without NUL characters, at most ${LIMITS.initScriptChars} characters` }),
}, { additionalProperties: false });

export type ContainerAppConfig = Static<typeof ContainerAppConfig>;
export type JupyterAppConfig = Static<typeof JupyterAppConfig>;
export type AppConfig = ContainerAppConfig | JupyterAppConfig;
export type AppKind = AppConfig['app'];
export type AppFile = Static<typeof AppFile>;
export type Workspace = Static<typeof Workspace>;

const SCHEMAS: Record<AppKind, TSchema> = { container: ContainerAppConfig, jupyter: JupyterAppConfig };
export const APP_KINDS = Object.keys(SCHEMAS) as AppKind[];

/** POSIX.1-2017 XBD §8.1 portable names: letters, digits and `_`, not starting with a digit. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks an app config of either kind, fills its defaults, and returns the complete config.
 * Throws a ValidationError naming every offending field (`routing.port`, `files[0].path`), an
 * unknown one with the known field it is closest to (`comand`: did you mean `command`?).
 * `field` prefixes every path, for a config nested in a larger body.
 */
export function parseAppConfig(value: unknown, field = ''): AppConfig {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'an app config must be a JSON object');
  }
  const app = (value as { app?: unknown }).app;
  if (typeof app !== 'string' || !Object.hasOwn(SCHEMAS, app)) {
    throw new ValidationError(at('app'), `must be one of ${APP_KINDS.map((k) => `"${k}"`).join(', ')}`);
  }
  const kind = app as AppKind;
  const schema = SCHEMAS[kind];
  const problems = new Problems();
  otherKindsFields(kind, value as Record<string, unknown>, at, problems);
  const config = inSchemaOrder(schema, check(schema, value, problems, field)) as AppConfig;

  // The checks that need words, each on a field the schema found nothing wrong with.
  const ok = (name: string) => !problems.touches(at(name));
  // (Not when a misspelt field was meant to be the port: that is said already.)
  const portMeant = problems.list.some((p) => p.suggestion === at('routing.port'));
  if (!problems.blocks(at('routing')) && ok('routing.mode') && ok('routing.port') && !portMeant && config.routing.mode !== 'none' && config.routing.port === undefined) {
    problems.add(at('routing.port'), `is required when routing.mode is "${config.routing.mode}"`);
  }
  if (ok('command')) checkWords(config.command, at('command'), problems);
  if (ok('containerArgs')) checkWords(config.containerArgs, at('containerArgs'), problems);
  if (ok('workdir') && config.workdir) checkPath(config.workdir, at('workdir'), problems);
  if (!problems.blocks(at('env'))) checkEnv(config.env, at('env'), problems);
  if (!problems.blocks(at('files'))) checkFiles(config.files, at('files'), problems);
  if (ok('workspace.path')) {
    checkPath(config.workspace.path, at('workspace.path'), problems);
    if (config.workspace.path === '/') problems.add(at('workspace.path'), 'must be a folder below / (the whole file system cannot be a workspace)');
  }
  if (ok('workspace.exclude')) {
    config.workspace.exclude.forEach((pattern, i) => {
      if (pattern.split('/').includes('..')) problems.add(at(`workspace.exclude[${i}]`), 'must stay inside the workspace (no ".." parts)');
    });
  }
  if (config.app === 'jupyter' && !problems.blocks(at('git'))) checkJupyter(config, at, problems);
  problems.throwIfAny();
  return config;
}

/**
 * A field of another kind (`git` in a container app) is unknown here; saying whose field it is
 * tells the user what to change (the app, or the field), where a misspelling has no suggestion.
 */
function otherKindsFields(kind: AppKind, value: Record<string, unknown>, at: (name: string) => string, problems: Problems): void {
  const own = SCHEMAS[kind].properties as Record<string, TSchema>;
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(own, key)) continue;
    const owners = APP_KINDS.filter((k) => k !== kind && Object.hasOwn(SCHEMAS[k].properties as object, key));
    if (owners.length) problems.add(at(key), `unknown field for ${kind} apps (a field of ${owners.join(', ')} apps: set "app" to use it)`);
  }
}

/** The config that `clone` returns: the same app, restoring the source instance's workspace. */
export function cloneAppConfig(config: AppConfig, sourceInstance: string): AppConfig {
  const copy = structuredClone(config);
  copy.workspace.restoreFrom = sourceInstance;
  return parseAppConfig(copy);
}

/** The value with the keys of each fixed-shape object in the schema's order (records keep theirs), for a stable export. */
function inSchemaOrder(schema: TSchema, value: unknown): unknown {
  if (Array.isArray(value) && schema.items) return value.map((item) => inSchemaOrder(schema.items as TSchema, item));
  if (typeof value !== 'object' || value === null || !schema.properties) return value;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (Object.hasOwn(value, key)) out[key] = inSchemaOrder(sub, (value as Record<string, unknown>)[key]);
  }
  return out;
}

function checkWords(text: string, field: string, problems: Problems): void {
  try {
    splitShellWords(text);
  } catch (err) {
    if (err instanceof ShellWordsError) problems.add(field, err.message);
    else throw err;
  }
}

/** An absolute path with no `.` or `..` parts, so it means what it says after any join. */
function checkPath(path: string, field: string, problems: Problems): void {
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '..' || p === '.')) problems.add(field, 'must not contain "." or ".." parts');
  else if (path.includes('//')) problems.add(field, 'must not contain empty parts ("//")');
}

function checkEnv(env: Record<string, string>, field: string, problems: Problems): void {
  for (const name of Object.keys(env)) {
    if (!ENV_NAME.test(name) || name.length > LIMITS.envNameChars) {
      problems.add(`${field}.${name}`, 'must be a variable name: letters, digits and _, not starting with a digit');
    }
  }
}

function checkFiles(files: AppFile[], field: string, problems: Problems): void {
  const seen = new Set<string>();
  let bytes = 0;
  files.forEach((file, i) => {
    const at = `${field}[${i}]`;
    if (typeof file !== 'object' || file === null) return; // said already: must be an object
    if (!problems.touches(`${at}.path`)) {
      checkPath(file.path, `${at}.path`, problems);
      if (file.path.endsWith('/')) problems.add(`${at}.path`, 'must name a file, not a folder (no trailing /)');
      if (seen.has(file.path)) problems.add(`${at}.path`, `"${file.path}" is given by an earlier file`);
      seen.add(file.path);
    }
    if (typeof file.content !== 'string') return;
    const before = bytes;
    bytes += utf8Bytes(file.content);
    // Said once, at the file that crosses the limit.
    if (bytes > LIMITS.filesBytes && before <= LIMITS.filesBytes) problems.add(`${at}.content`, `the files' contents together exceed ${LIMITS.filesBytes / 1024 / 1024} MiB`);
  });
}

/** UTF-8 length without Node's Buffer, so that the dashboard runs this same check in the browser. */
const encoder = new TextEncoder();
function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

function checkJupyter(config: JupyterAppConfig, at: (name: string) => string, problems: Problems): void {
  const { git } = config;
  const ok = (name: string) => !problems.touches(at(name));
  if (!ok('git.repo')) return;
  if (git.repo) {
    let url: URL | undefined;
    try {
      url = new URL(git.repo);
    } catch {
      problems.add(at('git.repo'), 'is not a URL');
    }
    // An exported config is shared and stored: a token in the URL would travel with it.
    if (url && (url.username || url.password)) problems.add(at('git.repo'), 'must not contain credentials');
  } else {
    if (git.branch && ok('git.branch')) problems.add(at('git.branch'), 'needs git.repo');
    if (git.commit && ok('git.commit')) problems.add(at('git.commit'), 'needs git.repo');
  }
  if (ok('git.branch') && (git.branch.includes('..') || git.branch.endsWith('/') || git.branch.endsWith('.lock') || git.branch.includes('//') || /(^|\/)\./.test(git.branch))) {
    problems.add(at('git.branch'), 'is not a valid branch name (see git check-ref-format)');
  }
}

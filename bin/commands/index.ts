// Every `wharf` command by name (DESIGN.md "CLI"): bin/wharf.ts runs the one asked for.

/** A command: its help text and what runs it. */
export interface Command { help: string; run: (argv: string[]) => unknown }

/*
 * Each command's module is loaded only when that command runs: loading all of them (Docker's
 * client, fastify, undici…) cost every CLI call about a second before it did anything.
 */
const load = (file: string, help: string, run: string) => async (): Promise<Command> => {
  const m = (await import(file)) as Record<string, unknown>;
  return { help: m[help] as string, run: m[run] as Command['run'] };
};
const instances = (verb: string) => load('./instances.ts', `${verb}Help`, `run${verb[0].toUpperCase()}${verb.slice(1)}`);

export const commands: Record<string, () => Promise<Command>> = {
  up: load('./up.ts', 'upHelp', 'runUp'),
  gateway: load('./gateway.ts', 'gatewayHelp', 'runGateway'),
  certs: load('./certs.ts', 'certsHelp', 'runCerts'),
  connect: load('./connect.ts', 'connectHelp', 'runConnect'),
  control: load('./control.ts', 'controlHelp', 'runControl'),
  agent: load('./agent.ts', 'agentHelp', 'runAgent'),
  prune: load('./prune.ts', 'pruneHelp', 'runPrune'),
  users: load('./users.ts', 'usersHelp', 'runUsers'),
  tokens: load('./tokens.ts', 'tokensHelp', 'runTokens'),
  audit: load('./audit.ts', 'auditHelp', 'runAudit'),
  gateways: load('./gateways.ts', 'gatewaysHelp', 'runGateways'),
  agents: load('./agents.ts', 'agentsHelp', 'runAgents'),
  snapshots: load('./snapshots.ts', 'snapshotsHelp', 'runSnapshots'),
  snapshot: load('./snapshot.ts', 'snapshotHelp', 'runSnapshot'),
  keys: load('./keys.ts', 'keysHelp', 'runKeys'),
  store: load('./store.ts', 'storeHelp', 'runStore'),
  launch: instances('launch'),
  ls: instances('ls'),
  show: instances('show'),
  stop: instances('stop'),
  rm: instances('rm'),
  export: instances('export'),
  clone: instances('clone'),
  token: instances('token'),
  open: instances('open'),
  share: load('./share.ts', 'shareHelp', 'runShare'),
  projects: load('./projects.ts', 'projectsHelp', 'runProjects'),
  logs: load('./logs.ts', 'logsHelp', 'runLogs'),
};

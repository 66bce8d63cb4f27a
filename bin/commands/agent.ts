import { readFileSync } from 'node:fs';
import { startAgent } from '../../agent/agent.ts';
import { connectDocker } from '../../agent/docker-engine.ts';
import { agentSettings, parseEnvFile, type ReadyAgentSettings } from '../../agent/settings.ts';
import { parseListen } from '../../control/settings.ts';
import { wharfHome, writeRunFile } from '../../protocol/home.ts';
import { createLogger } from '../../protocol/log.ts';
import { helpText, readSettings, UsageError } from '../../protocol/settings.ts';

export const agentHelp = `wharf agent [flags]: run app containers on this Docker host for control's queues

Start it with the env file \`wharf agents add NAME\` prints:
  wharf agents add gpu-1 --queues gpu,default > agent.env && wharf agent --env-file agent.env

SIGTERM stops the agent and leaves its apps running; started again, it adopts them.

${helpText(agentSettings)}`;

/** Settings from flags, then the environment, then the env file, then defaults. */
export function agentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ReadyAgentSettings {
  const first = readSettings(agentSettings, argv, env);
  if (first.positionals.length) throw new UsageError(`unexpected argument "${first.positionals[0]}"`);
  let values = first.values;
  if (values.envFile) {
    let text: string;
    try {
      text = readFileSync(values.envFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--env-file: cannot read ${values.envFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    let fromFile: Record<string, string>;
    try {
      fromFile = parseEnvFile(text, values.envFile);
    } catch (err) {
      throw new UsageError(`--env-file: ${(err as Error).message}`);
    }
    values = readSettings(agentSettings, argv, { ...fromFile, ...env }).values;
  }
  const missing = (['controlUrl', 'key', 'secret'] as const).filter((k) => !values[k]).map((k) => agentSettings[k].env);
  if (missing.length) throw new UsageError(`${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set: pass --env-file with what \`wharf agents add NAME\` prints`);
  return values as ReadyAgentSettings;
}

export async function runAgent(argv: string[]): Promise<void> {
  const settings = agentConfig(argv);
  const metricsAt = settings.metricsListen === 'off' || !settings.metricsListen ? undefined : parseOrUsage(settings.metricsListen);
  const log = createLogger('agent', settings.logLevel);
  const docker = await connectDocker();
  const agent = await startAgent(settings, docker, log);
  const served = metricsAt ? await agent.metrics.serve(metricsAt.host, metricsAt.port) : undefined;
  const runFile = writeRunFile(wharfHome(), `agent-${agent.id}`, { agent: agent.id, metrics: served?.address ?? null });
  log.info({ agent: agent.id, queues: settings.queues ?? 'as added', maxApps: settings.maxApps, metrics: served?.address, runFile }, 'agent ready');
  console.error(`wharf agent ${agent.id}: taking jobs from ${settings.controlUrl}${served ? ` · metrics http://${served.address}/metrics` : ''}`);
  const stop = (signal: string) => {
    log.info({ signal }, 'agent stopping; apps keep running');
    served?.server.close();
    void agent.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function parseOrUsage(raw: string): { host: string; port: number } {
  try {
    return parseListen(raw);
  } catch (err) {
    throw new UsageError(`--metrics-listen: ${(err as Error).message}`);
  }
}

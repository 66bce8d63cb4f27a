import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { startAgent, type RunningAgent } from '../../agent/agent.ts';
import { connectDocker } from '../../agent/docker-engine.ts';
import { agentSettings } from '../../agent/settings.ts';
import { startControl } from '../../control/server.ts';
import { controlSettings, parseListen } from '../../control/settings.ts';
import { trustCa } from '../../certs/trust.ts';
import type { Store } from '../../control/store/store.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { gatewaySettings } from '../../gateway/settings.ts';
import { wharfHome, writeRunFile } from '../../protocol/home.ts';
import { createLogger } from '../../protocol/log.ts';
import { helpText, parsers, readSettings, UsageError, type Setting } from '../../protocol/settings.ts';

/*
 * `wharf up`: control, gateway and agent in one process, the embedded default (DESIGN.md
 * "CLI"): SQLite and keys under WHARF_HOME, the local CA, the local Docker Engine, and the
 * gateway's main host serving control. The three still meet only over HTTP on loopback, as
 * separate processes would. Each part reads its own env vars (WHARF_*); the flags below are
 * the few a person sets by hand. The gateway key and agent credentials it makes on first start
 * are kept in WHARF_HOME/up.json (0600), so a restart is the same agent and adopts its apps.
 */

const opt = <T>(s: Setting<T>): Setting<T> => s;

export const upSettings = {
  httpsPort: opt({ flag: 'https-port', env: 'WHARF_GATEWAY_HTTPS_PORT', default: 8443, parse: parsers.port, help: 'the gateway\'s HTTPS port: dashboard and apps' }),
  adminPort: opt({ flag: 'admin-port', env: 'WHARF_GATEWAY_ADMIN_PORT', default: 9401, parse: parsers.port, help: 'the gateway\'s admin port (/metrics, /routes)' }),
  controlListen: opt({ flag: 'control-listen', env: 'WHARF_CONTROL_LISTEN', default: '127.0.0.1:7400', parse: parsers.string, help: 'control\'s API address (HOST:PORT)' }),
  agentMetrics: opt({ flag: 'agent-metrics-listen', env: 'WHARF_AGENT_METRICS_LISTEN', default: '127.0.0.1:9402', parse: parsers.string, help: 'the agent\'s /metrics (HOST:PORT, or off)' }),
  noAgent: opt({ flag: 'no-agent', env: 'WHARF_UP_NO_AGENT', default: false, boolean: true, parse: parsers.bool, help: 'run no agent here (apps run on external agents)' }),
  logLevel: opt({ flag: 'log-level', env: 'WHARF_LOG_LEVEL', default: 'info', parse: parsers.string, help: 'fatal, error, warn, info, debug' }),
};

export const upHelp = `wharf up [flags]: control, gateway and agent in one process (what \`npm start\` runs)

Every setting of \`wharf control\`, \`wharf gateway\` and \`wharf agent\` is also read from its
env var (see their --help); these flags are the common ones:

${helpText(upSettings)}`;

/** A word as a POSIX shell reads it: as it is when it holds nothing special, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * What `wharf up` (and so `npm start`) prints once everything is up: where to sign in, and
 * commands that work as shown from any folder of any shell: the checkout's own paths
 * (bin/wharf runs the project's Node 24, whatever `node` is on PATH) and, when this
 * WHARF_HOME is not the default, the line that points the CLI at it.
 */
export function banner(o: { home: string; publicUrl: string; control: string; gatewayAdmin: string; agentMetrics?: string; agent: boolean; noAgent?: string }): string {
  const repo = realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
  const at = (path: string) => shellWord(join(repo, path));
  const lines = [
    `wharf up: dashboard ${o.publicUrl} (CA: ${join(o.home, 'certs', 'ca.pem')})`,
    `  sign in as admin with the password in ${join(o.home, 'admin.password')}; the CLI uses ${join(o.home, 'admin.token')}`,
    `  control ${o.control} · gateway admin http://${o.gatewayAdmin}/metrics${o.agentMetrics ? ` · agent http://${o.agentMetrics}/metrics` : ''}`,
  ];
  if (!o.agent) lines.push(`  no agent runs here: ${o.noAgent}; launches wait in their queue until one does`);
  lines.push(o.agent ? '  try it, in another terminal:' : '  the CLI, in another terminal:');
  if (o.home !== wharfHome({})) lines.push(`    export WHARF_HOME=${shellWord(o.home)}`);
  if (o.agent) lines.push(`    ${at('images/build.sh')} busybox`, `    ${at('bin/wharf')} launch -f ${at('examples/busybox-https.json')}`);
  else lines.push(`    ${at('bin/wharf')} ls`);
  return lines.join('\n');
}

interface UpCredentials {
  gatewayKey: string;
  agentKey: string;
  agentSecret: string;
}

/** The gateway key and agent credentials of this WHARF_HOME's embedded parts: reused when control still accepts them, else made anew. */
async function credentials(home: string, store: Store): Promise<UpCredentials> {
  const file = join(home, 'up.json');
  let saved: Partial<UpCredentials> = {};
  try {
    saved = JSON.parse(readFileSync(file, 'utf8'));
  } catch { /* first start */ }
  const gatewayKey = saved.gatewayKey && (await store.gateways.verify(saved.gatewayKey)) ? saved.gatewayKey : (await store.gateways.add('local')).key;
  let agentKey = saved.agentKey;
  let agentSecret = saved.agentSecret;
  if (!agentKey || !agentSecret || !(await store.agents.verify(agentKey, agentSecret))) {
    const added = await store.agents.add({ name: 'local', queues: ['default'] });
    agentKey = added.agent.key;
    agentSecret = added.secret;
  }
  const out = { gatewayKey, agentKey, agentSecret };
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n', { mode: 0o600 });
  return out;
}

export async function runUp(argv: string[]): Promise<void> {
  const { values: up, positionals } = readSettings(upSettings, argv);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  let listen: { host: string; port: number };
  try {
    listen = parseListen(up.controlListen);
  } catch (err) {
    throw new UsageError(`--control-listen: ${(err as Error).message}`);
  }
  const home = wharfHome();
  const log = createLogger('up', up.logLevel);
  // Each part's own settings from the environment, then the flags above.
  const c = readSettings(controlSettings, []).values;
  const g = readSettings(gatewaySettings, []).values;
  const a = readSettings(agentSettings, []).values;

  // Docker first: without it the agent cannot run, and that is said before anything starts.
  let docker: Docker | undefined;
  let dockerProblem: string | undefined;
  if (!up.noAgent) {
    try {
      docker = await connectDocker();
    } catch (err) {
      dockerProblem = (err as Error).message;
    }
  }

  const control = await startControl({ ...c, listen, home, logLevel: up.logLevel }, log.child({ part: 'control' }));
  const closers: (() => Promise<unknown>)[] = [() => control.close()];
  // Beyond loopback control serves HTTPS from the local CA: this process's gateway and agent trust it.
  if (control.tlsCaFile) trustCa(readFileSync(control.tlsCaFile, 'utf8'));
  try {
    writeRunFile(home, 'control', { listen: control.listen, url: control.url });
    const creds = await credentials(home, control.store);
    const gateway = await startGateway({
      ...g, home, httpsPort: up.httpsPort, adminPort: up.adminPort, control: control.url, key: creds.gatewayKey, logLevel: up.logLevel,
    }, log.child({ part: 'gateway' }));
    closers.unshift(() => gateway.close());
    writeRunFile(home, 'gateway', gateway.addresses);
    const httpsPort = gateway.addresses.https.slice(gateway.addresses.https.lastIndexOf(':') + 1);
    const publicUrl = g.publicUrl ?? `https://localhost:${httpsPort}/`;
    if (!c.publicUrl) control.setPublicUrl(publicUrl);

    let agent: RunningAgent | undefined;
    let agentMetrics: string | undefined;
    if (docker) {
      agent = await startAgent({ ...a, controlUrl: control.url, key: creds.agentKey, secret: creds.agentSecret, logLevel: up.logLevel }, docker, log.child({ part: 'agent' }));
      closers.unshift(() => agent!.close());
      if (up.agentMetrics !== 'off') {
        let at: { host: string; port: number };
        try {
          at = parseListen(up.agentMetrics);
        } catch (err) {
          throw new UsageError(`--agent-metrics-listen: ${(err as Error).message}`);
        }
        const served = await agent.metrics.serve(at.host, at.port);
        agentMetrics = served.address;
        closers.unshift(() => new Promise((r) => served.server.close(r)));
      }
      writeRunFile(home, `agent-${agent.id}`, { agent: agent.id, metrics: agentMetrics ?? null });
    }

    console.error(banner({ home, publicUrl, control: control.url, gatewayAdmin: gateway.addresses.admin, agentMetrics, agent: agent !== undefined, noAgent: agent ? undefined : up.noAgent ? '--no-agent was given' : dockerProblem }));
    // Last: the run file says everything above is up (scripts and tests wait for it).
    writeRunFile(home, 'up', { control: control.url, gateway: gateway.addresses, publicUrl, agent: agent?.id ?? null, agentMetrics: agentMetrics ?? null });
    log.info({ control: control.url, ...gateway.addresses, agent: agent?.id }, 'wharf up');
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }

  const stop = (signal: string) => {
    log.info({ signal }, 'wharf up stopping; apps keep running');
    void (async () => {
      for (const close of closers) await close().catch(() => undefined);
      process.exit(0);
    })();
    setTimeout(() => process.exit(0), 8_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

import { isIP } from 'node:net';
import { parseCpus, parseSize } from '../apps/container-args.ts';
import { parseControlUrls } from '../protocol/control-urls.ts';
import { parsers, type Setting, type Values } from '../protocol/settings.ts';

const opt = <T>(s: Setting<T>): Setting<T> => s;

const QUEUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LABEL = /^([A-Za-z0-9][A-Za-z0-9._/-]{0,126})=(.*)$/;

export const agentParsers = {
  queue(raw: string): string {
    if (!QUEUE.test(raw)) throw new Error(`must be a queue name (letters, digits, ".", "_", "-"), got "${raw}"`);
    return raw;
  },
  memory(raw: string): number {
    const bytes = parseSize(raw);
    if (bytes === null || bytes < 6 * 1024 * 1024) throw new Error(`must be a size of at least 6m such as 512m or 2g, got "${raw}"`);
    return bytes;
  },
  cpus(raw: string): number {
    const nano = parseCpus(raw);
    if (nano === null) throw new Error(`must be a number of CPUs such as 1 or 0.5, got "${raw}"`);
    return nano;
  },
  label(raw: string): [string, string] {
    const m = LABEL.exec(raw);
    if (!m) throw new Error(`must be KEY=VALUE, got "${raw}"`);
    if (m[1] === 'wharf.type' || m[1] === 'wharf.instance' || m[1] === 'wharf.agent') throw new Error(`"${m[1]}" is set by the agent itself`);
    return [m[1], m[2]];
  },
  /**
   * One address: a wildcard would publish every app's port on every address of the host,
   * where any network, and any container through the host's address, reaches it without a token.
   */
  bind(raw: string): string {
    if (!isIP(raw)) throw new Error(`must be the IP address gateways reach app ports at, such as 127.0.0.1 or 10.0.0.3, got "${raw}"`);
    if (/^(0\.0\.0\.0|::|0*:(0*:)*0*)$/.test(raw)) throw new Error(`must be the one address gateways reach app ports at (127.0.0.1 when they run on this host), not "${raw}", which publishes them on every address of the host`);
    return raw;
  },
  seconds(raw: string): number {
    const n = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || n <= 0) throw new Error(`must be a number of seconds above 0, got "${raw}"`);
    return n;
  },
};

/**
 * The agent's settings (DESIGN.md "Settings"): an env file like any external apps server's
 * (`wharf agents add NAME > agent.env`, then `wharf agent --env-file agent.env`), or flags.
 */
export const agentSettings = {
  envFile: opt<string | undefined>({ flag: 'env-file', default: undefined, parse: parsers.string, help: 'read KEY=VALUE settings from this file (what `wharf agents add` prints); the environment and flags win over it' }),
  controlUrl: opt<string | undefined>({ flag: 'control-url', env: 'WHARF_CONTROL_URL', default: undefined, parse: (raw) => parseControlUrls(raw).join(','), help: 'control\'s URL (required); several controls on one database: their URLs, comma-separated, the next used when one cannot be reached' }),
  key: opt<string | undefined>({ flag: 'key', env: 'WHARF_AGENT_KEY', default: undefined, parse: parsers.string, help: 'the agent key from `wharf agents add` (required)' }),
  secret: opt<string | undefined>({ flag: 'secret', env: 'WHARF_AGENT_SECRET', default: undefined, parse: parsers.string, help: 'the agent secret from `wharf agents add` (required; prefer the env file to a flag)' }),
  queues: opt<string[] | undefined>({ flag: 'queues', env: 'WHARF_QUEUES', default: undefined, multiple: true, parse: agentParsers.queue, help: 'queues to take jobs from, in this order (default: the ones given to `wharf agents add`)' }),
  host: opt<string | undefined>({ flag: 'host', env: 'WHARF_AGENT_HOST', default: undefined, parse: parsers.string, help: 'the address gateways reach published ports at (default: the bind address)' }),
  bind: opt({ flag: 'bind', env: 'WHARF_AGENT_BIND', default: '127.0.0.1', parse: agentParsers.bind, help: 'the host address app ports are published on: the one gateways use, never 0.0.0.0' }),
  firewallImage: opt<string | undefined>({ flag: 'firewall-image', env: 'WHARF_FIREWALL_IMAGE', default: undefined, parse: parsers.string, help: 'with a non-loopback --bind, an image on this host with chroot, run once at start to add the INPUT rule that keeps app containers off published ports (default: the agent\'s own image when it runs in a container; "off": you keep that rule yourself, docs/isolation-containers.md)' }),
  maxApps: opt({ flag: 'max-apps', env: 'WHARF_MAX_APPS', default: 10, parse: parsers.positive, help: 'apps run at once; further jobs wait in their queue (10 suits a 2–4 vCPU apps server)' }),
  defaultMemory: opt({ flag: 'default-memory', env: 'WHARF_DEFAULT_MEMORY', default: 2 * 1024 ** 3, shownDefault: '2g', parse: agentParsers.memory, help: 'memory limit of an app that sets none (--memory)' }),
  defaultCpus: opt({ flag: 'default-cpus', env: 'WHARF_DEFAULT_CPUS', default: 1e9, shownDefault: '1', parse: agentParsers.cpus, help: 'CPU limit of an app that sets none (--cpus)' }),
  labels: opt<[string, string][]>({ flag: 'label', env: 'WHARF_LABELS', default: [], multiple: true, parse: agentParsers.label, help: 'KEY=VALUE label on every container (repeat the flag; env: comma-separated), for fleets and tests' }),
  readinessTimeoutS: opt({ flag: 'readiness-timeout', env: 'WHARF_READINESS_TIMEOUT_S', default: 120, parse: agentParsers.seconds, help: 'seconds an app has to answer on its port before it fails' }),
  stopTimeoutS: opt({ flag: 'stop-timeout', env: 'WHARF_STOP_TIMEOUT_S', default: 10, parse: parsers.whole, help: 'seconds between SIGTERM and SIGKILL when an app is stopped' }),
  heartbeatS: opt({ flag: 'heartbeat', env: 'WHARF_HEARTBEAT_S', default: 2, parse: agentParsers.seconds, help: 'seconds between heartbeats (they renew leases and carry stop commands)' }),
  sampleIntervalS: opt({ flag: 'sample-interval', env: 'WHARF_SAMPLE_INTERVAL_S', default: 5, parse: agentParsers.seconds, help: 'seconds between resource samples' }),
  metricsListen: opt<string | undefined>({ flag: 'metrics-listen', env: 'WHARF_AGENT_METRICS_LISTEN', default: '127.0.0.1:9402', parse: parsers.string, help: 'HOST:PORT of /metrics and /healthz (port 0: any free port; "off": none)' }),
  logLevel: opt({ flag: 'log-level', env: 'WHARF_LOG_LEVEL', default: 'info', parse: parsers.string, help: 'fatal, error, warn, info, debug' }),
};

export type AgentSettings = Values<typeof agentSettings>;

/** Settings with what an agent cannot run without checked present. */
export type ReadyAgentSettings = AgentSettings & { controlUrl: string; key: string; secret: string };

/**
 * `KEY=VALUE` lines of an env file: `#` comments and blank lines skipped, `export ` allowed,
 * one pair of matching quotes around a value removed. A malformed line names its number.
 */
export function parseEnvFile(text: string, name = 'env file'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!m) throw new Error(`${name} line ${i + 1}: expected KEY=VALUE, got "${trimmed.slice(0, 60)}"`);
    const value = m[2].trim();
    out[m[1]] = /^(['"]).*\1$/.test(value) && value.length >= 2 ? value.slice(1, -1) : value;
  });
  return out;
}

import cluster from 'node:cluster';
import { createLogger } from '../../protocol/log.ts';
import { wharfHome, writeRunFile } from '../../protocol/home.ts';
import { helpText, readSettings, UsageError } from '../../protocol/settings.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { gatewaySettings, type GatewaySettings } from '../../gateway/settings.ts';
import { startSupervisor } from '../../gateway/supervisor/supervisor.ts';
import { WorkerLink } from '../../gateway/supervisor/worker-link.ts';

export const gatewayHelp = `wharf gateway [flags]: the data path (TLS, token auth, HTTPS/WebSocket proxy, metrics)\n\n${helpText(gatewaySettings)}`;

/** Exits within this long of SIGTERM/SIGINT even if connections are slow to close. */
const STOP_TIMEOUT_MS = 5_000;

export async function runGateway(argv: string[]): Promise<void> {
  const { values, positionals } = readSettings(gatewaySettings, argv);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const settings: GatewaySettings = { ...values, home: wharfHome() };
  if (cluster.isWorker) return runWorker(settings);
  if (settings.workers > 1) return runSupervisor(settings);
  const log = createLogger('gateway', values.logLevel);
  const gateway = await startGateway(settings, log);
  announce(settings, gateway.addresses, log, { routes: gateway.live.table.size });
  onStop(log, () => gateway.close());
}

/** One of a supervisor's workers: the same settings, its routes and caps from the supervisor. */
async function runWorker(settings: GatewaySettings): Promise<void> {
  const log = createLogger('gateway', settings.logLevel).child({ worker: cluster.worker!.id });
  const gateway = await startGateway(settings, log, new WorkerLink());
  onStop(log, () => gateway.close(), true);
  // A terminal's hangup reaches the whole process group: rolling the workers is the supervisor's call.
  process.on('SIGHUP', () => {});
}

async function runSupervisor(settings: GatewaySettings): Promise<void> {
  const log = createLogger('gateway', settings.logLevel);
  const supervisor = await startSupervisor(settings, log);
  announce(settings, supervisor.addresses, log, { workers: supervisor.workers() });
  process.on('SIGHUP', () => {
    log.info('SIGHUP: replacing the workers one by one');
    supervisor.roll().catch((err) => log.error({ err: (err as Error).message }, 'workers not replaced; the old ones keep serving'));
  });
  onStop(log, () => supervisor.close());
}

function announce(settings: GatewaySettings, addresses: { https: string; admin: string }, log: ReturnType<typeof createLogger>, extra: object): void {
  const runFile = writeRunFile(settings.home, 'gateway', addresses);
  log.info({ ...addresses, runFile, ...extra }, 'gateway ready');
  // One plain line for people; the JSON log above and the run file are for programs.
  const port = addresses.https.slice(addresses.https.lastIndexOf(':') + 1);
  console.error(`wharf gateway: https://localhost:${port}/ · apps at https://<route>.${settings.appsDomain}:${port}/ · admin http://${addresses.admin}/${settings.tlsCert.length ? '' : ` · CA ${settings.home}/certs/ca.pem`}`);
}

function onStop(log: ReturnType<typeof createLogger>, close: () => Promise<void>, quiet = false): void {
  const stop = (signal: string) => {
    if (!quiet) log.info({ signal }, 'gateway stopping');
    void close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), STOP_TIMEOUT_MS).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

import { createLogger } from '../../protocol/log.ts';
import { wharfHome, writeRunFile } from '../../protocol/home.ts';
import { helpText, readSettings, UsageError } from '../../protocol/settings.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { gatewaySettings } from '../../gateway/settings.ts';

export const gatewayHelp = `wharf gateway [flags]: the data path (TLS, token auth, HTTPS/WebSocket proxy, metrics)\n\n${helpText(gatewaySettings)}`;

export async function runGateway(argv: string[]): Promise<void> {
  const { values, positionals } = readSettings(gatewaySettings, argv);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const home = wharfHome();
  const log = createLogger('gateway', values.logLevel);
  const gateway = await startGateway({ ...values, home }, log);
  const runFile = writeRunFile(home, 'gateway', gateway.addresses);
  log.info({ ...gateway.addresses, runFile, routes: gateway.live.table.size }, 'gateway ready');
  // One plain line for people; the JSON log above and the run file are for programs.
  const port = gateway.addresses.https.slice(gateway.addresses.https.lastIndexOf(':') + 1);
  console.error(`wharf gateway: https://localhost:${port}/ · apps at https://<route>.${values.appsDomain}:${port}/ · admin http://${gateway.addresses.admin}/${values.tlsCert.length ? '' : ` · CA ${home}/certs/ca.pem`}`);
  const stop = (signal: string) => {
    log.info({ signal }, 'gateway stopping');
    void gateway.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

import { createLogger } from '../../protocol/log.ts';
import { wharfHome, writeRunFile } from '../../protocol/home.ts';
import { helpText, readSettings, UsageError } from '../../protocol/settings.ts';
import { startControl } from '../../control/server.ts';
import { controlSettings } from '../../control/settings.ts';

export const controlHelp = `wharf control [flags]: the source of truth (API, users, tokens, route stream for gateways)\n\n${helpText(controlSettings)}`;

export async function runControl(argv: string[]): Promise<void> {
  const { values, positionals } = readSettings(controlSettings, argv);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const home = wharfHome();
  const log = createLogger('control', values.logLevel);
  const control = await startControl({ ...values, home }, log);
  const runFile = writeRunFile(home, 'control', { listen: control.listen, url: control.url });
  log.info({ listen: control.listen, runFile }, 'control ready');
  console.error(`wharf control: ${control.url}/ · admin token ${home}/admin.token · password ${home}/admin.password`);
  if (control.tlsCaFile) console.error(`wharf control: HTTPS from the local CA; clients trust it with NODE_EXTRA_CA_CERTS=${control.tlsCaFile}`);
  const stop = (signal: string) => {
    log.info({ signal }, 'control stopping');
    void control.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

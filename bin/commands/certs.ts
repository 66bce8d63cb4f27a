import { parseArgs } from 'node:util';
import { issueCertificate } from '../../certs/authority.ts';
import { CertStore, defaultGatewayNames } from '../../certs/store.ts';
import { wharfHome } from '../../protocol/home.ts';
import { UsageError } from '../../protocol/settings.ts';

export const certsHelp = `wharf certs init [NAME…] [--apps-domain D] [--force]   create the local CA and the gateway certificate
wharf certs issue NAME… [--client] [--out FILE-NAME]   issue another certificate from the CA`;

const NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^[0-9a-f:.]+$/i;

function checkNames(names: string[]): void {
  for (const n of names) if (!NAME.test(n)) throw new UsageError(`"${n}" is not a DNS name, wildcard or IP address`);
}

function trustHint(store: CertStore, appsDomain: string): string {
  return `Trust the CA: ${store.caPath}\n` +
    `  curl --cacert ${store.caPath} https://localhost:8443/\n` +
    `  curl --cacert ${store.caPath} https://APP.${appsDomain}:8443/\n` +
    `Browsers: import ${store.caPath} as a trusted authority (Settings → Privacy and security → Manage certificates).`;
}

export function runCerts(argv: string[]): void {
  const [sub, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { 'apps-domain': { type: 'string' }, force: { type: 'boolean' }, client: { type: 'boolean' }, out: { type: 'string' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const store = new CertStore(wharfHome());
  const appsDomain = values['apps-domain'] ?? process.env.WHARF_APPS_DOMAIN ?? 'apps.localhost';
  checkNames(positionals);
  if (sub === 'init') {
    if (store.has('gateway') && !values.force) {
      console.log(`Certificates exist in ${store.dir} (use --force to issue the gateway certificate again).`);
    } else {
      const names = [...new Set([...defaultGatewayNames(appsDomain), ...positionals])];
      const paths = store.write('gateway', issueCertificate(store.authority(), { names }));
      console.log(`Gateway certificate for ${names.join(', ')}:\n  ${paths.cert}\n  ${paths.key}`);
    }
    console.log(trustHint(store, appsDomain));
    return;
  }
  if (sub === 'issue') {
    if (positionals.length === 0) throw new UsageError('certs issue needs at least one NAME');
    const out = values.out ?? (values.client ? `client-${positionals[0]}` : positionals[0]).replace(/^\*\./, 'wildcard.');
    if (!/^[\w.-]+$/.test(out) || out === 'ca' || out === 'gateway') throw new UsageError(`--out: "${out}" is not a usable file name`);
    const paths = store.write(out, issueCertificate(store.authority(), { names: positionals, client: values.client }));
    console.log(`${values.client ? 'Client' : 'Server'} certificate for ${positionals.join(', ')}:\n  ${paths.cert}\n  ${paths.key}\nCA: ${store.caPath}`);
    return;
  }
  throw new UsageError(sub ? `unknown certs command "${sub}"; use init or issue` : 'certs needs a command: init or issue');
}

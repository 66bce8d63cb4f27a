import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const gatewaysHelp = `wharf gateways add NAME [--json]

  add NAME   create a gateway key (admin); prints the two env lines a gateway starts with:
             WHARF_GATEWAY_CONTROL=<control URL> and WHARF_GATEWAY_KEY=<key>, shown only this once`;

export async function runGateways(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'add') throw new UsageError(sub ? `unknown subcommand "gateways ${sub}": use add` : 'wharf gateways needs a subcommand: add');
  const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
  const [name] = positionals(given, ['NAME'], 'wharf gateways add NAME');
  const client = new ControlClient();
  const gateway = await client.call<{ id: string; name: string; key: string }>('POST', '/api/v1/gateways', { name });
  if (values.json) {
    console.log(JSON.stringify({ ...gateway, control: client.target.url }, null, 2));
    return;
  }
  // stdout is an env file as is (`wharf gateways add g1 > gw.env`); the note goes to stderr.
  console.log(`WHARF_GATEWAY_CONTROL=${client.target.url}`);
  console.log(`WHARF_GATEWAY_KEY=${gateway.key}`);
  console.error(`gateway ${gateway.name} added (${gateway.id}); the key is shown only this once`);
}

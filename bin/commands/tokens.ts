import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const tokensHelp = `wharf tokens create NAME [--json] | revoke ID | ls [--json]

  create NAME   create an API token for yourself; prints it once (use it as WHARF_TOKEN)
  revoke ID     revoke a token by its id (yours, or anyone's as an admin)
  ls            list your tokens`;

interface TokenView { id: string; name: string; created: string; lastUsed: string | null; revoked: string | null; token?: string }

export async function runTokens(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
      const [name] = positionals(given, ['NAME'], 'wharf tokens create NAME [--json]');
      const created = await new ControlClient().call<TokenView>('POST', '/api/v1/tokens', { name });
      if (values.json) console.log(JSON.stringify(created, null, 2));
      else {
        console.log(created.token);
        console.error(`token ${created.id} (${created.name}) created; it is shown only this once`);
      }
      return;
    }
    case 'revoke': {
      const { positionals: given } = parseCommand(rest, {});
      const [id] = positionals(given, ['ID'], 'wharf tokens revoke ID');
      await new ControlClient().call('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      console.log(`token ${id} revoked`);
      return;
    }
    case 'ls': {
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
      positionals(given, [], 'wharf tokens ls [--json]');
      const { tokens } = await new ControlClient().call<{ tokens: TokenView[] }>('GET', '/api/v1/tokens');
      if (values.json) console.log(JSON.stringify(tokens, null, 2));
      else for (const t of tokens) console.log(`${t.id}\t${t.name}\t${t.revoked ? `revoked ${t.revoked}` : `created ${t.created}`}`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "tokens ${sub}": use create, revoke or ls` : 'wharf tokens needs a subcommand: create, revoke or ls');
  }
}

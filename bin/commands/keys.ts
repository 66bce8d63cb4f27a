import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const keysHelp = `wharf keys rotate [--json] | ls [--json]

  rotate   make a new token signing key (admin) and print its kid; the old key stays
           published until every token it signed has expired
  ls       list the signing keys (admin): kid, created, retired, published until`;

interface KeyView { kid: string; created: string; retired: string | null; publishedUntil: string | null }
interface KeysView { current: string; keys: KeyView[] }

export async function runKeys(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' } });
  switch (sub) {
    case 'rotate': {
      positionals(given, [], 'wharf keys rotate [--json]');
      const rotated = await new ControlClient().call<KeysView & { kid: string }>('POST', '/api/v1/keys/rotate');
      console.log(values.json ? JSON.stringify(rotated, null, 2) : rotated.kid);
      return;
    }
    case 'ls': {
      positionals(given, [], 'wharf keys ls [--json]');
      const view = await new ControlClient().call<KeysView>('GET', '/api/v1/keys');
      if (values.json) console.log(JSON.stringify(view, null, 2));
      else for (const k of view.keys) console.log(`${k.kid}\t${k.kid === view.current ? 'current' : `retired ${k.retired}, published until ${k.publishedUntil}`}\tcreated ${k.created}`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "keys ${sub}": use rotate or ls` : 'wharf keys needs a subcommand: rotate or ls');
  }
}

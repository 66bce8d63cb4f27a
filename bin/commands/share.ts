import { UsageError } from '../../protocol/settings.ts';
import { parseCommand } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const shareHelp = `wharf share ID [USER [--role viewer|user] | USER --revoke] [--json]

  share ID USER           shares instance ID with USER as a user: they see it, open and connect to its app
  share ID USER --role viewer
                          as a viewer: they see it, its console and metrics, but cannot open the app
                          (sharing again changes the role)
  share ID USER --revoke  takes the share back: USER's live connections to the app close
  share ID                lists who it is shared with (--json)

Only the instance's owner, or an admin, shares it. Control and the token come from WHARF_URL
and WHARF_TOKEN, else WHARF_HOME.`;

interface ShareView { user: string; role: string; created: string; by: string | null }

export async function runShare(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(argv, { role: { type: 'string' }, revoke: { type: 'boolean' }, json: { type: 'boolean' } });
  const [id, user, ...extra] = positionals;
  if (!id) throw new UsageError('wharf share needs the instance ID: wharf share ID [USER [--role viewer|user] | USER --revoke]');
  if (extra.length > 0) throw new UsageError(`one user at a time: unexpected "${extra[0]}"`);
  if (values.role !== undefined && values.role !== 'viewer' && values.role !== 'user') throw new UsageError(`--role must be viewer or user, got "${values.role}"`);
  if ((values.role !== undefined || values.revoke) && !user) throw new UsageError('--role and --revoke need a USER: wharf share ID USER');
  if (values.role !== undefined && values.revoke) throw new UsageError('--role and --revoke do not go together');
  const client = new ControlClient();
  const base = `/api/v1/instances/${encodeURIComponent(id)}/shares`;
  if (!user) {
    const { shares } = await client.call<{ shares: ShareView[] }>('GET', base);
    if (values.json) console.log(JSON.stringify(shares, null, 2));
    else for (const s of shares) console.log(`${s.user}\t${s.role}\tshared ${s.created}${s.by ? ` by ${s.by}` : ''}`);
    return;
  }
  if (values.revoke) {
    await client.call('DELETE', `${base}/${encodeURIComponent(user)}`);
    console.log(`${id} is no longer shared with ${user}; their connections to it are closed`);
    return;
  }
  const share = await client.call<ShareView>('POST', base, { user, role: values.role ?? 'user' });
  console.log(values.json ? JSON.stringify(share, null, 2) : `${id} is shared with ${share.user} as ${share.role}`);
}

import { UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';
import { humanBytes } from '../../protocol/human-bytes.ts';

export const snapshotsHelp = `wharf snapshots ls [--instance ID] [--json] | rm ID

  ls            list your snapshots (an admin's: everyone's), newest first
  --instance ID only those of instance ID
  rm ID         delete a snapshot (its blob goes once no snapshot uses it)`;

interface SnapshotView { id: string; instance: string; owner: string; sha256: string; size: number; created: string }


export async function runSnapshots(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'ls': {
      const { values, positionals: given } = parseCommand(rest, { json: { type: 'boolean' }, instance: { type: 'string' } });
      positionals(given, [], 'wharf snapshots ls [--instance ID] [--json]');
      const query = values.instance ? `?instance=${encodeURIComponent(values.instance)}` : '';
      const { snapshots } = await new ControlClient().call<{ snapshots: SnapshotView[] }>('GET', `/api/v1/snapshots${query}`);
      if (values.json) console.log(JSON.stringify(snapshots, null, 2));
      else for (const s of snapshots) console.log(`${s.id}\t${s.instance}\t${humanBytes(s.size)}\t${s.created}\t${s.sha256.slice(0, 12)}`);
      return;
    }
    case 'rm': {
      const { positionals: given } = parseCommand(rest, {});
      const [id] = positionals(given, ['ID'], 'wharf snapshots rm ID');
      await new ControlClient().call('DELETE', `/api/v1/snapshots/${encodeURIComponent(id)}`);
      console.log(`snapshot ${id} deleted`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "snapshots ${sub}": use ls or rm` : 'wharf snapshots needs a subcommand: ls or rm');
  }
}

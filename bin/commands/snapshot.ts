import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const snapshotHelp = `wharf snapshot ID [--no-wait] [--timeout SECONDS] [--json]

  Snapshots the workspace of a running instance now: control passes the request to the
  agent holding it (with its next heartbeat), which uploads the workspace like a stop does
  (an unchanged workspace uploads 0 new bytes). Waits for the new snapshot and prints it.

  --no-wait          return once control took the request
  --timeout SECONDS  how long to wait for the snapshot (default 600)
  --json             print the snapshot as JSON`;

interface SnapshotView { id: string; instance: string; sha256: string; size: number; created: string }

export async function runSnapshot(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, { 'no-wait': { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' } });
  const [id] = positionals(given, ['ID'], 'wharf snapshot ID [--no-wait] [--timeout SECONDS] [--json]');
  const timeoutS = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`--timeout: a number of seconds above 0, got "${values.timeout}"`);
  const client = new ControlClient();
  const list = async () => (await client.call<{ snapshots: SnapshotView[] }>('GET', `/api/v1/snapshots?instance=${encodeURIComponent(id)}`)).snapshots;
  const before = new Set((await list()).map((s) => s.id));
  // The agent reports a failed snapshot in the console only (the app runs on): watch it from here.
  type Page = { lines: { text: string }[]; last: number };
  const consoleSince = (seq: number) => client.call<Page>('GET', `/api/v1/instances/${encodeURIComponent(id)}/console?since=${seq}&limit=10000`);
  let seq = 0;
  for (let page = await consoleSince(0); page.lines.length; page = await consoleSince(seq)) seq = page.last;
  await client.call('POST', `/api/v1/instances/${encodeURIComponent(id)}/snapshot`);
  if (values['no-wait']) {
    console.log(`snapshot of ${id} requested`);
    return;
  }
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const fresh = (await list()).find((s) => !before.has(s.id));
    if (fresh) {
      if (values.json) console.log(JSON.stringify(fresh, null, 2));
      else console.log(`snapshot ${fresh.id} of ${fresh.instance}: ${fresh.size} bytes, sha256 ${fresh.sha256}`);
      return;
    }
    const page = await consoleSince(seq);
    seq = page.last;
    const failed = page.lines.find((l) => /^snapshot (upload )?failed|^snapshot requested, but/.test(l.text));
    if (failed) throw new Error(`no snapshot of ${id}: ${failed.text}`);
    const instance = await client.call<{ status: string; statusReason: string | null }>('GET', `/api/v1/instances/${encodeURIComponent(id)}`);
    if (!['starting', 'active', 'idle'].includes(instance.status)) throw new Error(`instance ${id} is ${instance.status}${instance.statusReason ? ` (${instance.statusReason})` : ''}: no snapshot was taken on request; see \`wharf logs ${id}\``);
  }
  throw new Error(`no snapshot of ${id} after ${timeoutS} s: see \`wharf logs ${id}\` for the agent's snapshot lines`);
}

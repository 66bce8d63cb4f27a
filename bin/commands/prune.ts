import { connectDocker } from '../../agent/docker-engine.ts';
import { pruneContainers } from '../../agent/prune.ts';
import { parsers, UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';

export const pruneHelp = `wharf prune [--until 96h] [--label k=v]... [--json]

Removes this Docker host's stopped Wharf app containers (label wharf.type=application) that
stopped longer ago than --until (default 96h). Running apps are never touched. Every --label
narrows the selection. From cron, hourly:
  0 * * * * wharf prune --until 96h`;

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._/-]*(=.*)?$/;

export async function runPrune(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, {
    until: { type: 'string' }, label: { type: 'string', multiple: true }, json: { type: 'boolean' },
  });
  positionals(given, [], 'wharf prune [--until 96h] [--label k=v]');
  let untilMs: number;
  try {
    untilMs = parsers.duration(values.until ?? '96h');
  } catch (err) {
    throw new UsageError(`--until: ${(err as Error).message}`);
  }
  const labels = (values.label ?? []) as string[];
  for (const l of labels) if (!LABEL.test(l)) throw new UsageError(`--label: must be KEY or KEY=VALUE, got "${l}"`);
  const docker = await connectDocker();
  const pruned = await pruneContainers(docker, untilMs, labels);
  if (values.json) {
    console.log(JSON.stringify(pruned, null, 2));
    return;
  }
  for (const p of pruned) console.log(`removed ${p.name} (instance ${p.instance ?? '-'}, stopped ${p.finishedAt})`);
  console.error(`wharf prune: ${pruned.length} stopped container(s) removed`);
}

#!/usr/bin/env node
// `npm run bench`: one run of every benchmark case; prints the report and writes
// bench/RESULTS.md. Usage: node bench/run.ts [--duration S] [--warmup S] [--no-write]
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { runBench } from './bench.ts';

export { runBench } from './bench.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      write: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowNegative: true,
  });
  if (values.help) {
    console.log('Usage: node bench/run.ts [--duration S (default 10, or BENCH_DURATION)] [--warmup S] [--no-write]');
    return;
  }
  const durationS = Number(values.duration ?? process.env.BENCH_DURATION ?? 10);
  const warmupS = values.warmup === undefined ? undefined : Number(values.warmup);
  if (!Number.isFinite(durationS) || durationS < 1) throw new Error('--duration: whole seconds, at least 1');
  if (warmupS !== undefined && !(warmupS >= 0)) throw new Error('--warmup: whole seconds, 0 for none');
  const command = ['node', relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(' ');
  const result = await runBench({ durationS, warmupS, write: values.write, command });
  console.log(result.report);
  if (values.write) console.error('bench: wrote bench/RESULTS.md');
}

if (import.meta.main) {
  // Exit through process.exit so that the children's exit hook runs on Ctrl-C too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

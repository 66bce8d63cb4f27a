#!/usr/bin/env node
// `npm run bench:long`: 1 GiB uploads (HTTP/1.1 and HTTP/2) and a 1 GiB download through the
// gateway, at once, each at 2 MiB/s (about 8.5 minutes); writes bench/LONG-TRANSFERS.md.
// Usage: node bench/long-run.ts [--size-mib N] [--rate-mibps R] [--no-write]
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { runLongTransfers, writeLongTransfersReport, longTransfersReport } from './long-transfers.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '1024' },
      'rate-mibps': { type: 'string', default: '2' },
      write: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowNegative: true,
  });
  if (values.help) {
    console.log('Usage: node bench/long-run.ts [--size-mib N (default 1024)] [--rate-mibps R (default 2)] [--no-write]');
    return;
  }
  const sizeMiB = Number(values['size-mib']);
  const rateMiBps = Number(values['rate-mibps']);
  if (!(sizeMiB > 0)) throw new Error('--size-mib: a number of MiB above 0');
  if (!(rateMiBps > 0)) throw new Error('--rate-mibps: MiB per second, above 0');
  const command = ['node', relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].join(' ');
  const result = await runLongTransfers({ sizeMiB, rateMiBps, log: (line) => console.error(line) });
  console.log(longTransfersReport(result, command));
  if (values.write) writeLongTransfersReport(result, command);
  if (result.transfers.some((t) => !t.intact)) process.exit(1);
}

if (import.meta.main) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

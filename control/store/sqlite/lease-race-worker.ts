import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './open.ts';

/*
 * One contender in lease-race.test.ts's race: its own thread and its own connection to the
 * file, leasing as fast as it can once the shared gate opens. Posts the seqs it got.
 */

const { file, agent, queues, gate } = workerData as { file: string; agent: string; queues: string[]; gate: Int32Array };
const store = openSqliteStore({ file, clock: () => 0 });
parentPort!.postMessage('ready');
Atomics.wait(gate, 0, 0);
const seqs: number[] = [];
for (;;) {
  const job = await store.jobs.lease(agent, queues, 60_000, 1_000);
  if (!job) break;
  seqs.push(job.seq);
}
await store.close();
parentPort!.postMessage(seqs);

import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../store.ts';
import { tempStore, testConfig, testSpec, type TempStore } from '../testing.ts';

/*
 * SQLite only: agents leasing from their own threads, each with its own connection to the
 * file, as separate control processes on one file would. (The contract suite's
 * ../sql/jobs.test.ts races connections within one thread, on both backends.)
 */

describe('SQLite job queue across threads', () => {
  let t: TempStore;
  let ada: User;
  beforeEach(async () => {
    t = tempStore();
    ada = await t.store.users.add({ name: 'ada', password: 'x' });
  });
  afterEach(() => t.cleanup());

  const launch = () => t.store.instances.create({ owner: ada.id, config: testConfig(), spec: testSpec() });
  const agent = async () => (await t.store.agents.add({ name: 'host', queues: ['default'] })).agent.id;

  it('never lease one job twice when agents race on their own threads', async () => {
    const jobs = 300;
    for (let i = 0; i < jobs; i++) await launch();
    const agents = [await agent(), await agent(), await agent(), await agent()];
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const workers = agents.map((id) => new Worker(new URL('./lease-race-worker.ts', import.meta.url), {
      workerData: { file: t.file, agent: id, queues: ['default'], gate },
    }));
    const nextMessage = <T>(w: Worker) => new Promise<T>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    // Every worker has opened the file and waits at the gate: open it for all at once.
    await Promise.all(workers.map((w) => nextMessage(w)));
    const results = workers.map((w) => nextMessage<number[]>(w));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const perAgent = await Promise.all(results);
    const all = perAgent.flat();
    expect(all).toHaveLength(jobs);
    expect(new Set(all).size).toBe(jobs);
    // Each instance is starting on the agent whose lease the store recorded.
    const starting = await t.store.instances.list({ status: 'starting' });
    expect(starting).toHaveLength(jobs);
    const holder = new Map<number, string | null>();
    for (const instance of starting) {
      const job = (await t.store.jobs.get(instance.id))!;
      expect(instance.agent).toBe(job.agent);
      holder.set(job.seq, job.agent);
    }
    perAgent.forEach((seqs, i) => seqs.forEach((seq) => expect(holder.get(seq)).toBe(agents[i])));
  }, 60_000);
});

import type Docker from 'dockerode';
import { APPLICATION, LABEL_INSTANCE, LABEL_TYPE, volumeName } from './container-options.ts';

/*
 * `wharf prune`: removes Wharf app containers that stopped more than `untilMs` ago. Only
 * containers labelled `wharf.type=application` (and every `--label` given) are looked at,
 * and only exited or never-started ones are removed: a running app is never touched. Age is
 * counted from when the container stopped (State.FinishedAt), so one kept for inspection
 * stays that long after its failure, however long it ran. A pruned container's workspace
 * volume (`wharf-ws-<id>`, kept with it when its snapshot failed) goes with it; a user's own
 * named volumes (`wharf.type=volume`) are their data across launches and are never removed.
 */

export interface Pruned {
  id: string;
  name: string;
  instance: string | null;
  finishedAt: string;
}

export async function pruneContainers(docker: Docker, untilMs: number, labels: string[] = [], now = Date.now()): Promise<Pruned[]> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_TYPE}=${APPLICATION}`, ...labels], status: ['exited', 'created', 'dead'] },
  });
  const pruned: Pruned[] = [];
  for (const info of found) {
    const container = docker.getContainer(info.Id);
    let finished: number;
    let finishedAt: string;
    try {
      const state = (await container.inspect()).State;
      if (state.Running) continue;
      // A container that never ran has FinishedAt at the zero time: its creation counts instead.
      finishedAt = state.FinishedAt && !state.FinishedAt.startsWith('0001-') ? state.FinishedAt : new Date(info.Created * 1000).toISOString();
      finished = Date.parse(finishedAt);
    } catch {
      continue; // removed meanwhile
    }
    if (!(now - finished >= untilMs)) continue;
    try {
      await container.remove({ v: true });
      const instance = info.Labels[LABEL_INSTANCE];
      // A named volume outlives `remove({v: true})`; in use by another container, the Engine refuses (kept).
      if (instance) await docker.getVolume(volumeName(instance)).remove().catch(() => undefined);
      pruned.push({ id: info.Id, name: (info.Names[0] ?? '').replace(/^\//, ''), instance: info.Labels[LABEL_INSTANCE] ?? null, finishedAt });
    } catch {
      // started again or removed meanwhile: not ours to force
    }
  }
  return pruned;
}

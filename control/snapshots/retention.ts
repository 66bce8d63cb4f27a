/*
 * Snapshot retention (issue 6): the snapshots of stopped instances are kept per a policy, the
 * last N per lineage and a maximum age. A lineage is an instance and every instance restored
 * from it, transitively (`restoredFrom`). Pure: the caller reads the index, calls `expired`,
 * then deletes the rows and their unreferenced blobs.
 *
 * Rules, in order:
 * - a protected snapshot (of an instance still running, or the source of one starting) is kept;
 * - the newest snapshot of each lineage is always kept, whatever its age, so a lineage can
 *   always be cloned again;
 * - any other is deleted when it is not among the newest `keepLast` of its lineage, or is
 *   older than `maxAgeMs`.
 */

export interface RetentionPolicy {
  /** Newest snapshots kept per lineage (at least 1). */
  keepLast: number;
  /** Older than this is deleted (except a lineage's newest); Infinity keeps all ages. */
  maxAgeMs: number;
}

export interface RetainedSnapshot {
  id: string;
  instance: string;
  created: number;
}

export interface LineageInstance {
  id: string;
  restoredFrom: string | null;
}

/** Each instance's lineage root: follows `restoredFrom` to an instance restored from none (cycles and unknown sources stop the walk). */
export function lineageRoots(instances: Iterable<LineageInstance>): Map<string, string> {
  const from = new Map<string, string | null>();
  for (const i of instances) from.set(i.id, i.restoredFrom);
  const roots = new Map<string, string>();
  for (const id of from.keys()) {
    const seen = new Set<string>([id]);
    let at = id;
    for (;;) {
      const next = from.get(at);
      if (!next || seen.has(next)) break;
      seen.add(next);
      at = next;
      if (!from.has(at)) break;
    }
    roots.set(id, at);
  }
  return roots;
}

/** Ids of the snapshots to delete under `policy` at `now`. */
export function expired(
  snapshots: readonly RetainedSnapshot[],
  roots: ReadonlyMap<string, string>,
  policy: RetentionPolicy,
  now: number,
  protectedIds: ReadonlySet<string> = new Set(),
): string[] {
  const keepLast = Math.max(1, Math.floor(policy.keepLast));
  const byLineage = new Map<string, RetainedSnapshot[]>();
  for (const s of snapshots) {
    const root = roots.get(s.instance) ?? s.instance;
    let list = byLineage.get(root);
    if (!list) byLineage.set(root, (list = []));
    list.push(s);
  }
  const out: string[] = [];
  for (const list of byLineage.values()) {
    // Newest first; ties broken by id so the choice is stable.
    list.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    list.forEach((s, rank) => {
      if (rank === 0 || protectedIds.has(s.id)) return;
      if (rank >= keepLast || now - s.created > policy.maxAgeMs) out.push(s.id);
    });
  }
  return out;
}

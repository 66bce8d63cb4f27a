import { isBuiltIn } from '../access/projects.ts';
import type { Instance, Snapshot } from '../store/store.ts';

/**
 * Whether an agent may restore snapshot `s` (taken of instance `source`) into `target`: a
 * snapshot of the target's own owner, or one of an instance of the same project (a project's
 * users restore its workspaces; a built-in project has no members, so not there). Who may ask
 * for the restore was checked at launch (api/configs.ts checkRestorable); this keeps an agent
 * from handing out anyone else's workspace.
 */
export function restorableInto(s: Snapshot, source: Instance | undefined, target: Instance): boolean {
  if (s.owner === target.owner) return true;
  return source !== undefined && source.id === s.instance && !isBuiltIn(target.project) && source.project === target.project;
}

import type { AppConfig } from '../../protocol/app-config.ts';
import { ControlError } from '../errors.ts';
import { projectRole } from './projects.ts';
import type { Instance, Store, User } from '../store/store.ts';

/*
 * Who may do what with an instance (issue 18, "Projects, members, sharing"): the one check
 * every instance route calls. Three levels, each including the ones before it:
 *   viewer  sees the instance, its console and its metrics
 *   user    also opens and connects to the app (gateway tokens, browser links, tunnels) and reads
 *           its config
 *   owner   also stops, removes, snapshots, clones and shares it: its owner, or an admin
 * A share, or a membership of the instance's project, gives another user viewer or user (a
 * project's owner is a user of its instances); nobody else sees the instance at all.
 */

export type InstanceAccess = 'viewer' | 'user' | 'owner';

const RANK: Record<InstanceAccess, number> = { viewer: 1, user: 2, owner: 3 };

/** What `user` may do with `instance`, or undefined when nothing (not even see it): the most its share and its project give. */
export async function accessOf(store: Store, user: User, instance: Instance): Promise<InstanceAccess | undefined> {
  if (instance.owner === user.id || user.admin) return 'owner';
  const shared = (await store.shares.get(instance.id, user.id))?.role;
  const member = await projectRole(store, user, instance.project);
  // A project's owner manages its members, not its instances: for those, owner is user.
  const fromProject: InstanceAccess | undefined = member === 'owner' ? 'user' : member;
  return [shared, fromProject].reduce<InstanceAccess | undefined>((best, a) => (a && (!best || RANK[a] > RANK[best]) ? a : best), undefined);
}

/**
 * The instance, when `user` may do what `need` allows with it. One they may not see is 404, as
 * if it did not exist (its existence is not theirs to learn); one they see but may not do this
 * with is 403, naming what it takes. `removed`: also a removed instance whose snapshots are kept.
 */
export async function instanceFor(store: Store, user: User, id: string, need: InstanceAccess, options: { removed?: boolean } = {}): Promise<Instance> {
  const instance = await store.instances.get(id, options);
  const access = instance && (await accessOf(store, user, instance));
  if (!instance || !access) throw new ControlError('CTL_NOT_FOUND', `no instance "${id}"`);
  if (RANK[access] < RANK[need]) {
    throw new ControlError('CTL_FORBIDDEN', `you are a ${access} of instance "${id}" (through a share or its project): ${need === 'owner' ? 'only its owner or an admin may do this' : 'opening or connecting to its app takes the user role'}`);
  }
  return instance;
}

/**
 * The config as a viewer sees it: what the instance runs, not what it holds. Environment values,
 * file contents and the init script may be secrets: they are left out (names and paths stay; a
 * git URL never carries credentials, protocol/app-config.ts refuses them). Users of the instance
 * read the whole config, as its owner does.
 */
export function viewerConfig(config: AppConfig): AppConfig {
  const out = structuredClone(config);
  out.env = Object.fromEntries(Object.keys(out.env).map((name) => [name, '']));
  out.files = out.files.map((f) => ({ ...f, content: '' }));
  if (out.app === 'jupyter') out.initScript = '';
  return out;
}

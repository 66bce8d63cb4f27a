import type { FastifyInstance } from 'fastify';
import { compileApp } from '../../apps/index.ts';
import { parseAppConfig, type AppConfig } from '../../protocol/app-config.ts';
import type { LaunchSpec } from '../../protocol/launch-spec.ts';
import { checkLaunchProject, OPENS_APPS, projectRole } from '../access/projects.ts';
import { ValidationError } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import type { Instance, Store, User } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

/**
 * Restoring needs a source with a snapshot that the user may restore, into `project`: their own
 * instance (an admin: anyone's), or one of a project where they are a user or owner, restored
 * into that same project (a project's workspaces stay in it). `field` names where the source
 * id came from (`workspace.restoreFrom`, or the instance being cloned).
 */
export async function checkRestorable(store: Store, user: User, source: string, field: string, project: string): Promise<void> {
  // A removed instance restores while its snapshots are kept (`wharf rm` keeps them unless asked).
  const instance = await store.instances.get(source, { removed: true });
  const mine = instance !== undefined && (instance.owner === user.id || user.admin);
  const role = instance && !mine ? await projectRole(store, user, instance.project) : undefined;
  if (!instance || (!mine && !role)) throw new ControlError('CTL_NO_SNAPSHOT', `${field}: no instance "${source}" of yours to restore from`);
  if (!mine && !OPENS_APPS.has(role!)) {
    throw new ControlError('CTL_FORBIDDEN', `${field}: you are a ${role} of project "${instance.project}"; its users and owners restore its workspaces`);
  }
  if (!mine && project !== instance.project) {
    throw new ValidationError('project', `instance "${source}" is project "${instance.project}"'s: its workspace is restored into that project only`);
  }
  const snapshots = await store.snapshots.list({ instance: source });
  if (snapshots.length === 0) throw new ControlError('CTL_NO_SNAPSHOT', `${field}: instance "${source}" has no snapshot to restore from`);
}

/**
 * The complete config (defaults filled) and its launch spec, compiled with the submitter's
 * rights: host-access container args are an admin's, and a non-admin's named volumes are
 * their own (apps/container-args.ts). Throws a ValidationError naming the field.
 */
export async function checkConfig(store: Store, user: User, body: unknown): Promise<{ config: AppConfig; spec: LaunchSpec }> {
  const config = parseAppConfig(body ?? {});
  const spec = compileApp(config, { admin: user.admin, owner: user.id });
  await checkLaunchProject(store, user, config.project);
  if (config.workspace.restoreFrom) await checkRestorable(store, user, config.workspace.restoreFrom, 'workspace.restoreFrom', config.project);
  return { config, spec };
}

/** `POST /configs/validate`: import. Answers the complete config, or 400 naming the field. */
export function configRoutes(app: FastifyInstance, store: Store, auth: ApiAuth): void {
  app.post('/api/v1/configs/validate', async (request) => {
    const { config } = await checkConfig(store, auth.user(request), request.body);
    return config;
  });
}

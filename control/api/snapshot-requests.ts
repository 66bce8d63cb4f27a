import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import { instanceFor } from '../access/instance-access.ts';

/*
 * On-demand snapshots (`wharf snapshot ID`, issue 6 "Workspaces").
 *
 * POST /api/v1/instances/:id/snapshot (API token; the owner's or an admin's instance, running:
 * starting, active or idle) → 202 {id, requested}. The request waits here until the heartbeat
 * of the agent holding the instance carries it away (`snapshot: [ids]` in the heartbeat
 * answer, control/api/agents.ts); the agent then snapshots the running container's workspace
 * and uploads it like a stop does. The new snapshot shows in GET /api/v1/snapshots?instance=ID.
 * Requests live in memory: a control restart forgets the ones not yet taken (ask again).
 */

const pending = new WeakMap<Store, Map<string, number>>();

function requestsOf(store: Store): Map<string, number> {
  let map = pending.get(store);
  if (!map) pending.set(store, (map = new Map()));
  return map;
}

/** The requested ids among `held` (an agent's instances), each handed out once. */
export function takeSnapshotRequests(store: Store, held: string[]): string[] {
  const map = pending.get(store);
  if (!map || map.size === 0) return [];
  const out = held.filter((id) => map.has(id));
  for (const id of out) map.delete(id);
  return out;
}

export function snapshotRequestRoutes(app: FastifyInstance, deps: { store: Store; auth: ApiAuth }): void {
  const { store, auth } = deps;
  app.post<{ Params: { id: string } }>('/api/v1/instances/:id/snapshot', async (request, reply) => {
    const instance = await instanceFor(store, auth.user(request), request.params.id, 'owner');
    if (!['starting', 'active', 'idle'].includes(instance.status)) {
      throw new ControlError('CTL_INVALID', `instance ${instance.id} is ${instance.status}: only a running instance can be snapshotted (a stopped one was snapshotted when it stopped)`);
    }
    const requested = Date.now();
    requestsOf(store).set(instance.id, requested);
    return reply.code(202).send({ id: instance.id, requested: new Date(requested).toISOString() });
  });
}

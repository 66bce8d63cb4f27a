import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse, ValidationError } from '../../protocol/validate.ts';
import { instanceFor } from '../access/instance-access.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { Clock, Share, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

export const NewShare = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 255, description: 'the name of the user to share with' }),
  role: Type.Optional(Type.Union([Type.Literal('viewer'), Type.Literal('user')], { description: 'viewer: sees it and its dashboards; user (default): also opens and connects to the app' })),
}, { additionalProperties: false });

export interface ShareRouteDeps {
  store: Store;
  auth: ApiAuth;
  clock: Clock;
  /** App sessions: a revoked share ends that user's sessions on the instance at every gateway. */
  sessions: AppSessions;
}

/**
 * Sharing one instance with other users (its owner or an admin): list, share or change the
 * role, revoke. Taking away what a user could open (revoked, or down to viewer) revokes their app
 * sessions on the instance, which closes their live connections at every gateway (docs/sessions.md).
 */
export function shareRoutes(app: FastifyInstance, deps: ShareRouteDeps): void {
  const { store, auth, clock, sessions } = deps;
  const names = async (ids: (string | null)[]) => new Map(await Promise.all(ids.filter((id): id is string => id !== null).map(async (id) => [id, (await store.users.get(id))?.name ?? id] as const)));
  const views = async (shares: Share[]) => {
    const named = await names(shares.flatMap((s) => [s.user, s.by]));
    return shares.map((s) => ({ user: named.get(s.user)!, role: s.role, created: new Date(s.created).toISOString(), by: s.by === null ? null : named.get(s.by)! }));
  };

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id/shares', async (request) => {
    const instance = await instanceFor(store, auth.user(request), request.params.id, 'owner');
    return { shares: await views(await store.shares.list(instance.id)) };
  });

  app.post<{ Params: { id: string } }>('/api/v1/instances/:id/shares', async (request) => {
    const me = auth.user(request);
    const instance = await instanceFor(store, me, request.params.id, 'owner');
    const body = parse(NewShare, request.body ?? {});
    const user = await store.users.getByName(body.user);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${body.user}"`);
    if (user.id === instance.owner) throw new ValidationError('user', `${user.name} owns instance "${instance.id}": share it with someone else`);
    const role = body.role ?? 'user';
    const before = await store.shares.get(instance.id, user.id);
    const share = await store.shares.set(instance.id, user.id, role, me.id);
    if (before?.role === 'user' && role === 'viewer') await sessions.revoke(user.id, clock(), instance.id);
    if (before?.role !== role) await audit(store, me, 'share.add', { target: user.name, instance: instance.id, detail: before ? { role, was: before.role } : { role } });
    return (await views([share]))[0];
  });

  app.delete<{ Params: { id: string; user: string } }>('/api/v1/instances/:id/shares/:user', async (request, reply) => {
    const me = auth.user(request);
    const instance = await instanceFor(store, me, request.params.id, 'owner');
    const user = await store.users.getByName(request.params.user);
    if (!user || !(await store.shares.remove(instance.id, user.id))) {
      throw new ControlError('CTL_NOT_FOUND', `instance "${instance.id}" is not shared with "${request.params.user}"`);
    }
    await sessions.revoke(user.id, clock(), instance.id);
    await audit(store, me, 'share.remove', { target: user.name, instance: instance.id });
    return reply.code(204).send();
  });
}

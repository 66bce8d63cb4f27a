import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import type { Store, User } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: '1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit' });
const Password = Type.String({ minLength: 8, maxLength: 1024, description: 'a password of 8 to 1024 characters' });

export const NewUser = Type.Object({ name: Name, password: Password, admin: Type.Optional(Type.Boolean({ description: 'true or false' })) }, { additionalProperties: false });
export const NewPassword = Type.Object({ password: Password }, { additionalProperties: false });
export const UserChange = Type.Object({ admin: Type.Boolean({ description: 'true or false' }) }, { additionalProperties: false });

export function userView(u: User) {
  return { id: u.id, name: u.name, admin: u.admin, created: new Date(u.created).toISOString() };
}

/**
 * `/me` and `/users`: anyone sees and changes themself; only an admin others.
 * `PATCH /users/:name {admin}` (admin only) makes or unmakes an admin; the last admin stays one,
 * so that control always has someone who can add users and agents.
 */
export function userRoutes(app: FastifyInstance, store: Store, auth: ApiAuth): void {
  app.get('/api/v1/me', async (request) => userView(auth.user(request)));

  app.get('/api/v1/users', async (request) => {
    const me = auth.user(request);
    const users = me.admin ? await store.users.list() : [me];
    return { users: users.map(userView) };
  });

  app.post('/api/v1/users', async (request, reply) => {
    auth.admin(request);
    const body = parse(NewUser, request.body ?? {});
    const user = await store.users.add(body);
    return reply.code(201).send(userView(user));
  });

  app.post<{ Params: { name: string } }>('/api/v1/users/:name/password', async (request, reply) => {
    const me = auth.user(request);
    if (request.params.name !== me.name) auth.admin(request);
    const body = parse(NewPassword, request.body ?? {});
    const user = await store.users.getByName(request.params.name);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${request.params.name}"`);
    await store.users.setPassword(user.id, body.password);
    return reply.code(204).send();
  });

  app.patch<{ Params: { name: string } }>('/api/v1/users/:name', async (request) => {
    auth.admin(request);
    const body = parse(UserChange, request.body ?? {});
    const user = await store.users.getByName(request.params.name);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${request.params.name}"`);
    // The store refuses to demote the last admin (CTL_LAST_ADMIN).
    if (user.admin !== body.admin) await store.users.setAdmin(user.id, body.admin);
    return userView({ ...user, admin: body.admin });
  });
}

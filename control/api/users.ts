import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse, ValidationError } from '../../protocol/validate.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { PasswordCheck } from './password-check.ts';
import type { Clock, Store, User } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: '1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit' });
const Password = Type.String({ minLength: 8, maxLength: 1024, description: 'a password of 8 to 1024 characters' });

export const NewUser = Type.Object({ name: Name, password: Password, admin: Type.Optional(Type.Boolean({ description: 'true or false' })) }, { additionalProperties: false });
export const NewPassword = Type.Object({
  password: Password,
  /** Required when users change their own password; an admin setting another's leaves it out. */
  currentPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'your current password' })),
}, { additionalProperties: false });
export const UserChange = Type.Object({ admin: Type.Boolean({ description: 'true or false' }) }, { additionalProperties: false });

export function userView(u: User) {
  return { id: u.id, name: u.name, admin: u.admin, created: new Date(u.created).toISOString() };
}

export interface UserRouteDeps {
  store: Store;
  auth: ApiAuth;
  clock: Clock;
  /** App sessions: what every gateway is told to refuse (docs/sessions.md). */
  sessions: AppSessions;
  /** The sign-in's throttled password check, for the current password of one's own change. */
  passwords: PasswordCheck;
}

/**
 * `/me` and `/users`: anyone sees and changes themself; only an admin others.
 * `PATCH /users/:name {admin}` (admin only) makes or unmakes an admin; the last admin stays one,
 * so that control always has someone who can add users and agents. `DELETE /users/:name`
 * (admin only) removes a user.
 *
 * A changed password (one's own needs the current one), a removed user and a demoted admin end
 * the user's app sessions on every gateway (their cookies, gateway tokens and live connections)
 * and their dashboard sessions, but the one that changed its own password, which goes on.
 */
export function userRoutes(app: FastifyInstance, deps: UserRouteDeps): void {
  const { store, auth, clock, sessions, passwords } = deps;

  /** Ends `user`'s app sessions everywhere and their dashboard sessions. */
  const endSessions = async (userId: string): Promise<number> => {
    const at = clock();
    await sessions.revoke(userId, at);
    auth.console?.sessions.endSessionsOf(userId, at);
    return at;
  };

  app.get('/api/v1/me', async (request) => userView(auth.user(request)));

  app.get('/api/v1/users', async (request) => {
    const me = auth.user(request);
    const users = me.admin ? await store.users.list() : [me];
    return { users: users.map(userView) };
  });

  app.post('/api/v1/users', async (request, reply) => {
    const me = auth.admin(request);
    const body = parse(NewUser, request.body ?? {});
    const user = await store.users.add(body);
    await audit(store, me, 'user.add', { target: user.name, detail: { admin: user.admin } });
    return reply.code(201).send(userView(user));
  });

  app.post<{ Params: { name: string } }>('/api/v1/users/:name/password', async (request, reply) => {
    const me = auth.user(request);
    const own = request.params.name === me.name;
    if (!own) auth.admin(request);
    const body = parse(NewPassword, request.body ?? {});
    const user = own ? me : await store.users.getByName(request.params.name);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${request.params.name}"`);
    // Whoever holds a session or token of the user must not be able to lock them out with it.
    if (own) {
      if (body.currentPassword === undefined) {
        throw new ValidationError('currentPassword', 'is needed to change your own password (an admin setting another user\'s password leaves it out)');
      }
      if (!(await passwords.verify(request, reply, me.name, body.currentPassword))) throw new ControlError('CTL_WRONG_PASSWORD');
    }
    await store.users.setPassword(user.id, body.password);
    await audit(store, me, 'user.password', { target: user.name });
    const current = own ? await auth.session(request) : undefined;
    await endSessions(user.id);
    // The browser that asked goes on with a new session: a copy of its old cookie, which may be
    // why the password is changed, is refused with the others.
    if (current && auth.console) reply.header('set-cookie', auth.console.sessions.mint(user.id).setCookie);
    return reply.code(204).header('cache-control', 'no-store').send();
  });

  app.patch<{ Params: { name: string } }>('/api/v1/users/:name', async (request) => {
    const me = auth.admin(request);
    const body = parse(UserChange, request.body ?? {});
    const user = await store.users.getByName(request.params.name);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${request.params.name}"`);
    // The store refuses to demote the last admin (CTL_LAST_ADMIN).
    if (user.admin !== body.admin) {
      await store.users.setAdmin(user.id, body.admin);
      // An admin's app cookies may be for others' instances, which a user cannot open.
      if (!body.admin) await sessions.revoke(user.id, clock());
      await audit(store, me, 'user.admin', { target: user.name, detail: { admin: body.admin } });
    }
    return userView({ ...user, admin: body.admin });
  });

  app.delete<{ Params: { name: string } }>('/api/v1/users/:name', async (request, reply) => {
    const me = auth.admin(request);
    const user = await store.users.getByName(request.params.name);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${request.params.name}"`);
    // The store refuses to remove the last admin (CTL_LAST_ADMIN) and revokes the API tokens.
    await store.users.remove(user.id);
    await audit(store, me, 'user.remove', { target: user.name });
    await endSessions(user.id);
    return reply.code(204).send();
  });
}

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { BUILT_IN_PROJECTS } from '../../protocol/app-config.ts';
import { parse, ValidationError } from '../../protocol/validate.ts';
import { closeProjectSessions, isBuiltIn, OPENS_APPS, ownedProject } from '../access/projects.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { AppSessions } from '../keys/app-sessions.ts';
import type { Clock, ProjectMember, ProjectRole, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

const Role = Type.Union([Type.Literal('viewer'), Type.Literal('user'), Type.Literal('owner')], { description: 'viewer: sees its instances; user: also launches and opens its apps; owner: also manages its members' });

export const NewProject = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'the project\'s name, as app configs give it in `project`' }),
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'a user who becomes its first owner' })),
}, { additionalProperties: false });

export const NewMember = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 255, description: 'the member\'s user name' }),
  role: Type.Optional(Role),
}, { additionalProperties: false });

export interface ProjectRouteDeps {
  store: Store;
  auth: ApiAuth;
  clock: Clock;
  /** A member removed, or lowered to viewer, loses their app sessions on the project's instances. */
  sessions: AppSessions;
}

/**
 * Projects and their members: everyone lists the projects they may use (the built-in ones and
 * their memberships; an admin all), admins create projects, a project's owners (and admins)
 * manage its members. Taking away what a member could open ends their app sessions on the
 * project's instances at every gateway, which closes their live connections.
 */
export function projectRoutes(app: FastifyInstance, deps: ProjectRouteDeps): void {
  const { store, auth, clock, sessions } = deps;
  const iso = (t: number) => new Date(t).toISOString();
  const memberViews = async (members: ProjectMember[]) => Promise.all(members.map(async (m) => ({
    user: (await store.users.get(m.user))?.name ?? m.user,
    role: m.role,
    added: iso(m.added),
    by: m.by === null ? null : ((await store.users.get(m.by))?.name ?? null),
  })));
  const closeSessions = (user: string, project: string) => closeProjectSessions(store, sessions, user, project, clock());

  app.get('/api/v1/projects', async (request) => {
    const me = auth.user(request);
    const builtIn = BUILT_IN_PROJECTS.map((name) => ({ name, created: null, builtIn: true, role: null, members: 0 }));
    const mine = me.admin
      ? (await store.projects.list()).map((p) => ({ project: p, role: 'owner' as ProjectRole }))
      : await Promise.all((await store.projects.memberships(me.id)).map(async (m) => ({ project: (await store.projects.get(m.project))!, role: m.role })));
    const created = await Promise.all(mine.map(async ({ project, role }) => ({
      name: project.name, created: iso(project.created), builtIn: false, role, members: (await store.projects.members(project.name)).length,
    })));
    return { projects: [...builtIn, ...created] };
  });

  app.post('/api/v1/projects', async (request, reply) => {
    const me = auth.admin(request);
    const body = parse(NewProject, request.body ?? {});
    if (isBuiltIn(body.name)) throw new ValidationError('name', `"${body.name}" is a built-in project`);
    const owner = body.owner === undefined ? undefined : await store.users.getByName(body.owner);
    if (body.owner !== undefined && !owner) throw new ControlError('CTL_NOT_FOUND', `no user "${body.owner}"`);
    const project = await store.projects.add(body.name);
    await audit(store, me, 'project.add', { target: project.name, project: project.name });
    if (owner) {
      await store.projects.setMember(project.name, owner.id, 'owner', me.id);
      await audit(store, me, 'member.add', { target: owner.name, detail: { project: project.name, role: 'owner' } });
    }
    return reply.code(201).send({ name: project.name, created: iso(project.created), builtIn: false, role: 'owner', members: owner ? 1 : 0 });
  });

  app.get<{ Params: { name: string } }>('/api/v1/projects/:name/members', async (request) => {
    const project = await ownedProject(store, auth.user(request), request.params.name);
    return { members: await memberViews(await store.projects.members(project.name)) };
  });

  app.post<{ Params: { name: string } }>('/api/v1/projects/:name/members', async (request) => {
    const me = auth.user(request);
    const project = await ownedProject(store, me, request.params.name);
    const body = parse(NewMember, request.body ?? {});
    const user = await store.users.getByName(body.user);
    if (!user) throw new ControlError('CTL_NOT_FOUND', `no user "${body.user}"`);
    const role = body.role ?? 'user';
    const before = await store.projects.getMember(project.name, user.id);
    const member = await store.projects.setMember(project.name, user.id, role, me.id);
    if (before && OPENS_APPS.has(before.role) && !OPENS_APPS.has(role)) await closeSessions(user.id, project.name);
    if (before?.role !== role) await audit(store, me, 'member.add', { target: user.name, detail: before ? { project: project.name, role, was: before.role } : { project: project.name, role } });
    return (await memberViews([member]))[0];
  });

  app.delete<{ Params: { name: string; user: string } }>('/api/v1/projects/:name/members/:user', async (request, reply) => {
    const me = auth.user(request);
    const project = await ownedProject(store, me, request.params.name);
    const user = await store.users.getByName(request.params.user);
    if (!user || !(await store.projects.removeMember(project.name, user.id))) {
      throw new ControlError('CTL_NOT_FOUND', `"${request.params.user}" is not a member of project "${project.name}"`);
    }
    await closeSessions(user.id, project.name);
    await audit(store, me, 'member.remove', { target: user.name, detail: { project: project.name } });
    return reply.code(204).send();
  });
}

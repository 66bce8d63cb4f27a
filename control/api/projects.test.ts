import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './testing.ts';

const config = (project: string) => ({ app: 'container', image: 'wharf/busybox:local', project, routing: { mode: 'https', port: 8080 } });

describe('projects and members (in process)', () => {
  let f: ApiFixture;
  let root: string;
  let alice: string;
  let bob: { id: string; token: string };
  let carol: string;

  beforeEach(async () => {
    f = await apiFixture();
    root = (await f.user('root', { admin: true })).token;
    alice = (await f.user('alice')).token;
    bob = await f.user('bob');
    carol = (await f.user('carol')).token;
    const made = await f.call('POST', '/api/v1/projects', root, { name: 'ML', owner: 'alice' });
    expect(made.statusCode, made.body).toBe(201);
  });
  afterEach(() => f.close());

  const names = async (token: string) => ((await f.call('GET', '/api/v1/projects', token)).json().projects as { name: string; role: string | null; members: number; builtIn: boolean }[])
    .map((p) => `${p.name}:${p.builtIn ? 'built-in' : `${p.role}:${p.members}`}`);
  const member = (token: string, user: string, role: string) => f.call('POST', '/api/v1/projects/ML/members', token, { user, role });

  it('are created by admins, once, never over a built-in one, and listed to those who may use them', async () => {
    expect((await f.call('POST', '/api/v1/projects', alice, { name: 'Mine' })).statusCode).toBe(403);
    const again = await f.call('POST', '/api/v1/projects', root, { name: 'ML' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CTL_PROJECT_EXISTS');
    const builtIn = await f.call('POST', '/api/v1/projects', root, { name: 'Apps' });
    expect(builtIn.statusCode).toBe(400);
    expect(builtIn.json().error.field).toBe('name');
    expect((await f.call('POST', '/api/v1/projects', root, { name: 'X', owner: 'nobody' })).statusCode).toBe(404);
    expect(await names(alice)).toEqual(['Interactive Session:built-in', 'Apps:built-in', 'ML:owner:1']);
    expect(await names(bob.token)).toEqual(['Interactive Session:built-in', 'Apps:built-in']);
    expect(await names(root)).toEqual(['Interactive Session:built-in', 'Apps:built-in', 'ML:owner:1']);
  });

  it('have members its owners manage: 404 for a stranger, 403 for a member who is not an owner, 400 on a built-in one', async () => {
    f.t.clock.advance(1_000); // members are listed by when they were added
    expect((await member(alice, 'bob', 'viewer')).json()).toMatchObject({ user: 'bob', role: 'viewer', by: 'alice' });
    expect((await f.call('GET', '/api/v1/projects/ML/members', bob.token)).statusCode).toBe(403);
    expect((await member(bob.token, 'carol', 'owner')).statusCode).toBe(403);
    expect((await f.call('GET', '/api/v1/projects/ML/members', carol)).statusCode).toBe(404);
    expect((await member(alice, 'nobody', 'user')).statusCode).toBe(404);
    const builtIn = await f.call('POST', `/api/v1/projects/${encodeURIComponent('Interactive Session')}/members`, root, { user: 'bob' });
    expect(builtIn.statusCode).toBe(400);
    expect(builtIn.json().error.message).toContain('built in');
    const members = (await f.call('GET', '/api/v1/projects/ML/members', root)).json().members as { user: string; role: string }[];
    expect(members.map((m) => `${m.user}:${m.role}`)).toEqual(['alice:owner', 'bob:viewer']);
    expect((await f.call('DELETE', '/api/v1/projects/ML/members/bob', alice)).statusCode).toBe(204);
    expect((await f.call('DELETE', '/api/v1/projects/ML/members/bob', alice)).statusCode).toBe(404);
  });

  it('let users and owners launch into them, refuse viewers and strangers naming the project, and anyone launches into a built-in one', async () => {
    const launch = (token: string, project: string) => f.call('POST', '/api/v1/instances', token, config(project));
    expect((await launch(carol, 'Apps')).statusCode).toBe(201);
    const unknown = await launch(alice, 'Nope');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ field: 'project' });
    expect(unknown.json().error.message).toContain('there is no project "Nope"');
    await member(alice, 'bob', 'viewer');
    const viewer = await launch(bob.token, 'ML');
    expect(viewer.statusCode).toBe(400);
    expect(viewer.json().error.message).toContain('you may not launch into project "ML" (your role there is viewer)');
    expect((await launch(carol, 'ML')).json().error.message).toContain('you may not launch into project "ML":');
    // The import check says the same as the launch.
    expect((await f.call('POST', '/api/v1/configs/validate', carol, config('ML'))).statusCode).toBe(400);
    await member(alice, 'bob', 'user');
    const launched = await launch(bob.token, 'ML');
    expect(launched.statusCode, launched.body).toBe(201);
    expect((await launch(alice, 'ML')).statusCode).toBe(201);
    expect((await launch(root, 'ML')).statusCode).toBe(201);
    // carol, no member, sees none of ML's instances; a viewer member sees them all.
    const ids = async (token: string) => ((await f.call('GET', '/api/v1/instances?project=ML', token)).json().instances as unknown[]).length;
    expect(await ids(carol)).toBe(0);
    await member(alice, 'carol', 'viewer');
    expect(await ids(carol)).toBe(3);
  });

  it('end a member\'s app sessions on the project\'s instances when they may no longer open them', async () => {
    await member(alice, 'bob', 'user');
    const id = (await f.call('POST', '/api/v1/instances', alice, config('ML'))).json().id as string;
    const revoked = async () => (await f.t.store.revocations.list()).filter((r) => r.user === bob.id).map((r) => r.instance);
    await member(alice, 'bob', 'owner');
    expect(await revoked()).toEqual([]);
    await member(alice, 'bob', 'viewer');
    expect(await revoked()).toEqual([id]);
    f.t.clock.advance(1_000);
    await member(alice, 'bob', 'user');
    expect((await f.call('DELETE', '/api/v1/projects/ML/members/bob', alice)).statusCode).toBe(204);
    expect(await revoked()).toEqual([id]);
    const [r] = (await f.t.store.revocations.list()).filter((x) => x.user === bob.id);
    expect(r.before).toBeGreaterThanOrEqual(f.t.clock.now);
  });
});

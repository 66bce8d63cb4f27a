import { describe, expect, it } from 'vitest';
import {
  addedByWords, canManageMembers, closesConnections, createBody, DEFAULT_MEMBER_ROLE, isProjectRole, memberCountWords, memberOutcome,
  membersPath, PROJECT_ROLES, projectQuery, projectRoleWords, removeConfirmation, roleChangeConfirmation, roleWord, rolesHint,
  selectedName, selectionProblem, sortProjects, type ProjectRow,
} from './projects.ts';

const project = (name: string, over: Partial<ProjectRow> = {}): ProjectRow => ({ name, created: '2026-01-01T00:00:00Z', builtIn: false, role: 'owner', members: 1, ...over });

const alice = { name: 'alice', admin: false };
const root = { name: 'root', admin: true };

describe('projects', () => {
  it('knows the three roles, "user" first to be picked', () => {
    expect(PROJECT_ROLES.map((r) => r.value)).toEqual(['viewer', 'user', 'owner']);
    expect(DEFAULT_MEMBER_ROLE).toBe('user');
    expect(isProjectRole('owner')).toBe(true);
    expect(isProjectRole('admin')).toBe(false);
    expect(isProjectRole(null)).toBe(false);
    expect(roleWord('owner')).toBe('owner');
    expect(roleWord('editor')).toBe('editor');
    expect(rolesHint()).toBe("Viewer: sees the project's instances and their dashboards. User: also launches into the project and opens and connects to its apps. Owner: also manages its members.");
  });

  it("says the caller's role, and that anyone may launch into a built-in project", () => {
    expect(projectRoleWords({ builtIn: true, role: null })).toBe('anyone may launch');
    expect(projectRoleWords({ builtIn: true, role: 'owner' })).toBe('anyone may launch');
    expect(projectRoleWords({ builtIn: false, role: 'viewer' })).toBe('viewer');
    expect(projectRoleWords({ builtIn: false, role: null })).toBe('none');
    expect(memberCountWords({ builtIn: false, members: 1 })).toBe('1 member');
    expect(memberCountWords({ builtIn: false, members: 3 })).toBe('3 members');
    expect(memberCountWords({ builtIn: true, members: 0 })).toBeNull();
  });

  it('lets owners (admins are owners of all) manage members, never of a built-in project', () => {
    expect(canManageMembers({ builtIn: false, role: 'owner' })).toBe(true);
    expect(canManageMembers({ builtIn: false, role: 'user' })).toBe(false);
    expect(canManageMembers({ builtIn: false, role: null })).toBe(false);
    expect(canManageMembers({ builtIn: true, role: 'owner' })).toBe(false);
  });

  it('lists the built-in projects first, then the others by name', () => {
    const sorted = sortProjects([project('ml'), project('Apps', { builtIn: true }), project('Data'), project('Interactive Session', { builtIn: true }), project('ML')]);
    expect(sorted.map((p) => p.name)).toEqual(['Apps', 'Interactive Session', 'Data', 'ML', 'ml']);
  });

  it('keeps the selected project in the address', () => {
    expect(selectedName(new URLSearchParams('name=ML+team'))).toBe('ML team');
    expect(selectedName(new URLSearchParams('name=%20ML%20'))).toBe('ML');
    expect(selectedName(new URLSearchParams('name=%20'))).toBeNull();
    expect(selectedName(new URLSearchParams(''))).toBeNull();
    expect(projectQuery('ML team').toString()).toBe('name=ML+team');
    expect(selectedName(projectQuery('a&b=c'))).toBe('a&b=c');
    expect(projectQuery(null).toString()).toBe('');
  });

  it('says why the address names a project whose members cannot be shown', () => {
    const list = [project('Apps', { builtIn: true, role: null, members: 0 }), project('ML'), project('Data', { role: 'viewer' }), project('Odd', { role: null })];
    expect(selectionProblem(list, 'ML')).toBeNull();
    expect(selectionProblem(list, 'Nope')).toBe('You see no project named "Nope".');
    expect(selectionProblem(list, 'Apps')).toBe('Apps is a built-in project: anyone may launch into it, and it has no members.');
    expect(selectionProblem(list, 'Data')).toBe('Only the owners of Data and admins manage its members; you are a viewer.');
    expect(selectionProblem(list, 'Odd')).toBe('Only the owners of Odd and admins manage its members.');
  });

  it('builds the members paths, encoding the parts', () => {
    expect(membersPath('ML')).toBe('/api/v1/projects/ML/members');
    expect(membersPath('ML team', 'bob@example.org')).toBe('/api/v1/projects/ML%20team/members/bob%40example.org');
    expect(membersPath('a/b?c', 'x y')).toBe('/api/v1/projects/a%2Fb%3Fc/members/x%20y');
  });

  it('sends the owner only when one is named', () => {
    expect(createBody(' ML team ', '')).toEqual({ name: 'ML team' });
    expect(createBody('ML', '  ')).toEqual({ name: 'ML' });
    expect(createBody('ML', ' bob ')).toEqual({ name: 'ML', owner: 'bob' });
  });

  it('names who added a member, or a removed user', () => {
    expect(addedByWords('alice')).toBe('alice');
    expect(addedByWords(null)).toBe('a removed user');
  });

  it('says what a member request did', () => {
    const before = [{ user: 'bob', role: 'viewer' as const }];
    expect(memberOutcome(before, { user: 'carol', role: 'user' }, 'ML')).toBe('Added carol to ML as user.');
    expect(memberOutcome(before, { user: 'bob', role: 'user' }, 'ML')).toBe('bob is now a user (was viewer).');
    expect(memberOutcome(before, { user: 'bob', role: 'owner' }, 'ML')).toBe('bob is now an owner (was viewer).');
    expect(memberOutcome(before, { user: 'bob', role: 'viewer' }, 'ML')).toBe('bob already has the viewer role.');
  });

  it('knows when a role change closes connections: a user or owner down to viewer', () => {
    const before = [{ user: 'bob', role: 'user' as const }, { user: 'carol', role: 'viewer' as const }, { user: 'dan', role: 'owner' as const }];
    expect(closesConnections(before, 'bob', 'viewer')).toBe(true);
    expect(closesConnections(before, 'dan', 'viewer')).toBe(true);
    expect(closesConnections(before, 'dan', 'user')).toBe(false);
    expect(closesConnections(before, 'bob', 'owner')).toBe(false);
    expect(closesConnections(before, 'carol', 'viewer')).toBe(false);
    expect(closesConnections(before, 'erin', 'viewer')).toBe(false);
  });

  it('asks before taking something away, and only then', () => {
    const before = [{ user: 'bob', role: 'user' as const }, { user: 'alice', role: 'owner' as const }, { user: 'root', role: 'owner' as const }];
    expect(roleChangeConfirmation(before, 'bob', 'owner', 'ML', alice)).toBeNull();
    expect(roleChangeConfirmation(before, 'carol', 'viewer', 'ML', alice)).toBeNull();
    const down = roleChangeConfirmation(before, 'bob', 'viewer', 'ML', alice);
    expect(down).toMatchObject({ title: 'Make bob a viewer of ML?', confirm: 'Make viewer' });
    expect(down?.message).toMatch(/^bob will still see the instances of ML .*can no longer launch into it or open or connect to its apps\. Their open connections to its apps close now/);
    // Oneself, no longer an owner: the panel closes for a user who is not an admin.
    const self = roleChangeConfirmation(before, 'alice', 'user', 'ML', alice);
    expect(self).toEqual({ title: 'Make yourself a user of ML?', message: 'You will no longer manage the members of ML.', confirm: 'Make user' });
    expect(roleChangeConfirmation(before, 'alice', 'viewer', 'ML', alice)?.message).toMatch(/^You will still see .*Your open connections .* You will no longer manage the members of ML\.$/);
    // An admin keeps everything whatever their role.
    expect(roleChangeConfirmation(before, 'root', 'viewer', 'ML', root)).toBeNull();
    expect(roleChangeConfirmation(before, 'bob', 'viewer', 'ML', root)?.title).toBe('Make bob a viewer of ML?');
  });

  it('warns that removing a member closes their open connections', () => {
    expect(removeConfirmation('bob', 'ML team', alice)).toEqual({
      title: 'Remove bob from ML team?',
      message: 'bob will no longer see the instances of ML team or launch into it. Their open connections to its apps close now, on every gateway.',
      confirm: 'Remove member',
    });
    expect(removeConfirmation('alice', 'ML', alice).message).toMatch(/^You will no longer see the instances of ML, launch into it or manage its members\. Your open connections/);
    expect(removeConfirmation('root', 'ML', root).message).toBe('You will no longer be a member of ML; as an admin you still see it and manage its members.');
  });
});

import { describe, expect, it } from 'vitest';
import { matchRoute, section } from './router.ts';

describe('dashboard addresses', () => {
  it('names the page and its parameters', () => {
    expect(matchRoute('/')).toEqual({ name: 'instances', params: {}, admin: false });
    expect(matchRoute('/instances/r1-abc')).toEqual({ name: 'instance', params: { id: 'r1-abc' }, admin: false });
    expect(matchRoute('/apps/')).toMatchObject({ name: 'apps' });
    expect(matchRoute('/users')).toMatchObject({ name: 'users', admin: true });
    // Every signed-in user's; the selected project is in the query (`?name=`), not the path.
    expect(matchRoute('/projects')).toEqual({ name: 'projects', params: {}, admin: false });
    expect(matchRoute('/projects/')).toMatchObject({ name: 'projects' });
    expect(section('projects')).toBe('projects');
    // Open to a project's owners too (?project=): control says who may read what.
    expect(matchRoute('/audit')).toEqual({ name: 'audit', params: {}, admin: false });
    expect(section('launch')).toBe('apps');
  });

  it('knows nothing else', () => {
    for (const p of ['/instances', '/instances/', '/instances/A', '/instances/a/b', '/nope', '//apps', '/apps/x', '/audit/1', '/projects/ML', '/project']) expect(matchRoute(p), p).toBeUndefined();
  });
});

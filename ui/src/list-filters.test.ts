import { describe, expect, it } from 'vitest';
import { filterQuery, readFilters } from './list-filters.ts';

describe('instance list filters', () => {
  it('keeps known, non-blank filters, in a stable order', () => {
    const q = new URLSearchParams('queue=gpu&project=%20ML%20&tag=&x=1&status=active');
    expect(readFilters(q, false)).toEqual({ queue: 'gpu', project: 'ML', status: 'active' });
    expect(filterQuery(readFilters(q, false))).toBe('?status=active&project=ML&queue=gpu');
    expect(filterQuery({})).toBe('');
  });

  it('lets only an admin filter by owner', () => {
    const q = new URLSearchParams('owner=bob');
    expect(readFilters(q, false)).toEqual({});
    expect(readFilters(q, true)).toEqual({ owner: 'bob' });
  });
});

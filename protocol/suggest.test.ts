import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from './suggest.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0], ['abc', 'abc', 0], ['', 'abc', 3], ['abc', '', 3],
    ['comand', 'command', 1], // a deletion
    ['commannd', 'command', 1], // an insertion
    ['commend', 'command', 1], // a change
    ['prot', 'port', 1], // two neighbours swapped count once (Damerau)
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // optimal string alignment: a swapped pair is not edited again
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('suggest', () => {
  const top = ['kind', 'version', 'app', 'name', 'project', 'tags', 'queue', 'image', 'command', 'workdir', 'containerArgs', 'env', 'files', 'routing', 'idle', 'workspace'];

  it('names the closest known field within two edits', () => {
    expect(suggest('comand', top)).toBe('command');
    expect(suggest('routng', top)).toBe('routing');
    expect(suggest('workspcae', top)).toBe('workspace');
    expect(suggest('contianerArg', top)).toBe('containerArgs');
    expect(suggest('prot', ['mode', 'port'])).toBe('port');
  });

  it('ignores case', () => {
    expect(suggest('Command', top)).toBe('command');
    expect(suggest('containerargs', top)).toBe('containerArgs');
  });

  it('allows one edit only where a name is short, and none past the limit', () => {
    expect(suggest('evn', top)).toBe('env');
    expect(suggest('tag', top)).toBe('tags');
    expect(suggest('ram', top)).toBeUndefined(); // two from `name`, too far for a short name
    expect(suggest('colour', top)).toBeUndefined();
    expect(suggest('commandd__', top)).toBeUndefined(); // three edits
    expect(suggest('cmd', top)).toBeUndefined();
  });

  it('prefers the nearer name, then the earlier one', () => {
    expect(suggest('workdri', ['workdir2', 'workdir'])).toBe('workdir');
    expect(suggest('nam', ['name', 'nap'])).toBe('name');
    expect(suggest('x', [])).toBeUndefined();
  });
});

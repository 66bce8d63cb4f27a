import { describe, expect, it } from 'vitest';
import { excluder } from './exclude.ts';

describe('excluder', () => {
  it('matches a path or any of its parents, relative to the workspace', () => {
    const x = excluder(['.cache', 'build/*.o', '*.log', 'node_modules/', 'data/raw']);
    expect(x('.cache')).toBe(true);
    expect(x('.cache/pip/wheel')).toBe(true);
    expect(x('src/.cache')).toBe(false);
    expect(x('build/a.o')).toBe(true);
    expect(x('build/a.c')).toBe(false);
    expect(x('build/sub/a.o')).toBe(false);
    expect(x('x.log')).toBe(true);
    expect(x('logs/x.log')).toBe(false);
    expect(x('node_modules/a/b')).toBe(true);
    expect(x('data/raw/1.csv')).toBe(true);
    expect(x('data/clean.csv')).toBe(false);
    expect(x('data')).toBe(false);
  });

  it('treats regex characters literally and * never crosses "/"', () => {
    const x = excluder(['a+b', 'c(1)', '*']);
    expect(excluder(['a+b'])('a+b')).toBe(true);
    expect(excluder(['a+b'])('aab')).toBe(false);
    expect(x('c(1)/d')).toBe(true);
    expect(excluder(['x*z'])('x/z')).toBe(false);
    expect(excluder(['x?z'])('xyz')).toBe(true);
  });

  it('excludes nothing without patterns', () => {
    expect(excluder([])('anything')).toBe(false);
  });
});

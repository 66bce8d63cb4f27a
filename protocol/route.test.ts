import { describe, expect, it } from 'vitest';
import { parseRoute, parseRoutesFile } from './route.ts';
import { fieldOf } from '../test/support/validation.ts';


describe('parseRoute', () => {
  it('fills the defaults of DESIGN.md for an http route', () => {
    expect(parseRoute({ id: 'r1', target: 'http://127.0.0.1:32768/' })).toEqual({
      id: 'r1', kind: 'http', target: 'http://127.0.0.1:32768', instance: 'r1', public: false, status: 'active', headers: {},
    });
  });

  it('fills the defaults of DESIGN.md for a tcp route', () => {
    expect(parseRoute({ id: 'db', kind: 'tcp', target: 'tcp://127.0.0.1:5432' })).toEqual({
      id: 'db', kind: 'tcp', target: 'tcp://127.0.0.1:5432', instance: 'db', status: 'active', allow: ['127.0.0.0/8', '::1/128'], tls: 'none', clientCert: false,
    });
  });

  it('names the field of each mistake', () => {
    expect(fieldOf(() => parseRoute({ id: 'Bad_Id', target: 'http://x:1' }))).toBe('route.id');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'ftp://x' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1/path' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://u:p@x:1' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1', extra: 1 }))).toBe('route.extra');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1', kind: 'udp' }))).toBe('route.kind');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1', headers: { 'X-A': 'a\r\nInjected: 1' } }))).toBe('route.headers.X-A');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1', headers: { 'Bad Name': 'v' } }))).toBe('route.headers.Bad Name');
    expect(fieldOf(() => parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://x:1', port: 70000 }))).toBe('route.port');
    expect(fieldOf(() => parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://x' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute('nope'))).toBe('route');
    expect(fieldOf(() => parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://x:1', allow: ['127.0.0.1/8', '10.0.0.0/33'] }))).toBe('route.allow[1]');
    expect(fieldOf(() => parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://x:1', allow: ['::1/129'] }))).toBe('route.allow[0]');
    // A list where an object belongs, and the reverse, is refused rather than merged into the default.
    expect(fieldOf(() => parseRoute({ id: 'a', kind: 'tcp', target: 'tcp://x:1', allow: {} }))).toBe('route.allow');
    expect(fieldOf(() => parseRoute({ id: 'a', target: 'http://x:1', headers: [] }))).toBe('route.headers');
  });
});

describe('a starting route (an app that is setting up)', () => {
  it('needs no target while its status is starting', () => {
    expect(parseRoute({ id: 'r1', status: 'starting' })).toEqual({ id: 'r1', kind: 'http', instance: 'r1', public: false, status: 'starting', headers: {} });
    // With one (a routes file of an older kind) it still reads as before.
    expect(parseRoute({ id: 'r1', status: 'starting', target: 'http://x:1/' })).toMatchObject({ status: 'starting', target: 'http://x:1' });
  });

  it('refuses an active route, or a TCP one, without a target', () => {
    expect(fieldOf(() => parseRoute({ id: 'r1' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute({ id: 'r1', status: 'active' }))).toBe('route.target');
    expect(fieldOf(() => parseRoute({ id: 'r1', kind: 'tcp', status: 'starting' }))).toBe('route.target');
  });
});

describe('parseRoutesFile', () => {
  it('keeps the good routes and reports each bad one by path', () => {
    const result = parseRoutesFile({
      routes: [
        { id: 'a', target: 'http://127.0.0.1:1' },
        { id: 'b', target: 'nope' },
        { id: 'a', target: 'http://127.0.0.1:2' },
        { id: 'c', target: 'http://127.0.0.1:3', public: 'yes' },
      ],
    });
    expect(result.routes.map((r) => r.id)).toEqual(['a']);
    expect(result.errors.map((e) => e.field)).toEqual(['routes[1].target', 'routes[2].id', 'routes[3].public']);
  });

  it('refuses a file that is not {"routes": [...]}', () => {
    expect(fieldOf(() => parseRoutesFile([]))).toBe('routes');
    expect(fieldOf(() => parseRoutesFile({ routes: {} }))).toBe('routes');
    expect(fieldOf(() => parseRoutesFile({ routes: [], more: 1 }))).toBe('more');
  });
});

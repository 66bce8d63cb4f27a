import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { installErrorHandling } from './errors.ts';
import { acceptedEncodings, DASHBOARD_CSP, dashboardRoutes } from './dashboard.ts';
import type { ApiAuth } from './auth.ts';

describe('the dashboard shell and its static files', () => {
  let dir: string;
  let app: FastifyInstance;
  const signedIn = { user: { id: 'u1', name: 'bob', admin: false } } as unknown as Awaited<ReturnType<ApiAuth['session']>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-dashboard-'));
    const dist = join(dir, 'dist');
    mkdirSync(join(dist, 'nested'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>shell</title>');
    writeFileSync(join(dist, 'app-ABCD1234.js'), 'console.log(1)');
    writeFileSync(join(dist, 'app-ABCD1234.js.br'), brotliCompressSync('console.log(1)'));
    writeFileSync(join(dist, 'app-ABCD1234.js.gz'), gzipSync('console.log(1)'));
    writeFileSync(join(dist, 'plain.css'), 'body{}');
    writeFileSync(join(dist, 'nested', 'x.svg'), '<svg/>');
    writeFileSync(join(dir, 'secret.js'), 'nope');
    symlinkSync(join(dir, 'secret.js'), join(dist, 'link.js'));
    app = Fastify();
    installErrorHandling(app, pino({ level: 'silent' }));
    dashboardRoutes(app, {
      distDir: dist,
      auth: { session: async (request) => (request.headers.cookie === 'ok' ? signedIn : undefined) },
    });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the shell with a strict CSP when signed in, else sends the browser to sign in', async () => {
    const out = await app.inject({ url: '/' });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/signin?return=/');
    const shell = await app.inject({ url: '/', headers: { cookie: 'ok' } });
    expect(shell.statusCode).toBe(200);
    expect(shell.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(shell.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self';");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
    expect(shell.headers['cache-control']).toBe('no-store');
    expect(shell.body).toContain('<title>shell</title>');
  });

  it('serves files of dist with their type; hashed names are cached for a year', async () => {
    const js = await app.inject({ url: '/ui/app-ABCD1234.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    const css = await app.inject({ url: '/ui/plain.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['cache-control']).toBe('no-cache');
    expect((await app.inject({ url: '/ui/nested/x.svg' })).headers['content-type']).toBe('image/svg+xml');
  });

  it('refuses traversal, links out of dist, folders, unknown types and missing files', async () => {
    for (const url of ['/ui/../secret.js', '/ui/%2e%2e/secret.js', '/ui/nested/..%2f..%2fsecret.js', '/ui/..%5csecret.js', '/ui/link.js', '/ui/nested', '/ui/nested/', '/ui/', '/ui/missing.js', '/ui/index.txt', '/ui/.hidden.js', '/ui//etc/passwd']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('nope');
    }
  });

  it('sends the build\'s compressed copy to a browser that accepts it, the plain file otherwise', async () => {
    const br = await app.inject({ url: '/ui/app-ABCD1234.js', headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.headers.vary).toBe('accept-encoding');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe('console.log(1)');
    const gz = await app.inject({ url: '/ui/app-ABCD1234.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe('console.log(1)');
    const plain = await app.inject({ url: '/ui/app-ABCD1234.js', headers: { 'accept-encoding': 'br;q=0, identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log(1)');
    // No copy: the plain file, whatever is accepted; a copy is never served by its own name.
    expect((await app.inject({ url: '/ui/plain.css', headers: { 'accept-encoding': 'br' } })).headers['content-encoding']).toBeUndefined();
    expect((await app.inject({ url: '/ui/app-ABCD1234.js.br' })).statusCode).toBe(404);
    expect(acceptedEncodings('gzip;q=0.5, br;q=1')).toEqual(['br', 'gzip']);
    expect(acceptedEncodings(undefined)).toEqual([]);
  });
});

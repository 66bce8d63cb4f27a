import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { freePort, runWharf, type Running } from '../support/tcp.ts';

/*
 * Changing one's own password (issue 14) against a real `wharf control` and the real CLI: the
 * current password is asked for (400 without it, 403 when wrong, nothing changed either way);
 * the change ends the user's dashboard sessions, also after control restarts, while the browser
 * that made it goes on with a new one. An admin still sets another user's password without theirs.
 */
describe('changing one\'s own password', () => {
  let home: string;
  let control: Running | undefined;
  let url: string;
  let port: number;
  const origin = 'https://localhost:8443';
  const env = (token = '') => ({ ...process.env, WHARF_HOME: home, WHARF_URL: token ? url : '', WHARF_TOKEN: token });

  const start = async () => {
    control = await startControlProcess(env(), ['--listen', `127.0.0.1:${port}`, '--public-url', `${origin}/`]);
  };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  };
  /** Signs bob in as the dashboard does; the `wharf_console` cookie. */
  const login = async (password: string): Promise<string> => {
    const res = await call('POST', '/api/v1/auth/login', { name: 'bob', password }, { origin });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.headers.get('set-cookie')!.split(';')[0];
  };
  const signedIn = async (cookie: string) => (await call('GET', '/api/v1/auth/me', undefined, { cookie })).status === 200;
  const change = (cookie: string, body: unknown) => call('POST', '/api/v1/users/bob/password', body, { cookie, origin });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-passwd-e2e-'));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await start();
    const added = await runWharf(['users', 'add', 'bob'], env(), 'bob-password-1\n');
    expect(added.code, added.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await control?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('refuses a change without the current password (400) or with a wrong one (403), changing nothing', async () => {
    const here = await login('bob-password-1');
    const elsewhere = await login('bob-password-1');
    const without = await change(here, { password: 'bob-password-2' });
    expect(without.status).toBe(400);
    expect(without.json.error).toMatchObject({ code: 'CTL_INVALID', field: 'currentPassword' });
    expect(without.json.error.message).toMatch(/currentPassword: is needed to change your own password/);
    const wrong = await change(here, { password: 'bob-password-2', currentPassword: 'not-my-password' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('x-wharf-error')).toBe('CTL_WRONG_PASSWORD');
    expect(wrong.json.error.message).toMatch(/current password is wrong/);
    // Nothing changed: the old password signs in, both sessions go on.
    expect(await signedIn(await login('bob-password-1'))).toBe(true);
    expect(await signedIn(here)).toBe(true);
    expect(await signedIn(elsewhere)).toBe(true);
  });

  it('ends bob\'s other dashboard sessions, also across a control restart; the browser that changed it goes on with a new one', async () => {
    const here = await login('bob-password-1');
    const elsewhere = await login('bob-password-1');
    const res = await change(here, { password: 'bob-password-2', currentPassword: 'bob-password-1' });
    expect(res.status, JSON.stringify(res.json)).toBe(204);
    const reissued = res.headers.get('set-cookie')!.split(';')[0];
    expect(reissued).toMatch(/^wharf_console=/);
    expect(await signedIn(elsewhere)).toBe(false);
    // The old cookie of the browser that asked ends too (a stolen copy may be why); its new one works.
    expect(await signedIn(here)).toBe(false);
    expect(await signedIn(reissued)).toBe(true);
    expect((await call('POST', '/api/v1/auth/login', { name: 'bob', password: 'bob-password-1' }, { origin })).status).toBe(401);
    const later = await login('bob-password-2');

    await control!.stop();
    await start();
    expect(await signedIn(elsewhere)).toBe(false);
    expect(await signedIn(reissued)).toBe(true);
    expect(await signedIn(later)).toBe(true);
  }, 30_000);

  it('asks the CLI for the current password too when it is one\'s own, not when an admin sets another\'s', async () => {
    const token = (await call('POST', '/api/v1/tokens', { name: 'cli' }, { cookie: await login('bob-password-2'), origin })).json.token as string;
    const wrong = await runWharf(['users', 'passwd', 'bob'], env(token), 'not-my-password\nbob-password-3\n');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/current password is wrong/);
    const one = await runWharf(['users', 'passwd', 'bob'], env(token), 'bob-password-3\n');
    expect(one.code).not.toBe(0);
    expect(one.stderr).toMatch(/2 lines expected on stdin/);
    const own = await runWharf(['users', 'passwd', 'bob'], env(token), 'bob-password-2\nbob-password-3\n');
    expect(own.code, own.stderr).toBe(0);
    expect(await signedIn(await login('bob-password-3'))).toBe(true);
    // The admin (admin.token from WHARF_HOME) sets bob's password with one line.
    const byAdmin = await runWharf(['users', 'passwd', 'bob'], env(), 'set-by-admin-1\n');
    expect(byAdmin.code, byAdmin.stderr).toBe(0);
    expect(await signedIn(await login('set-by-admin-1'))).toBe(true);
  }, 30_000);
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlApp } from '../server.ts';
import type { TempStore } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

const ORIGIN = 'https://wharf.test:8443';

describe('dashboard sign-in and /auth/app (in process)', () => {
  let t: TempStore;
  let control: ControlApp;
  let bobToken: string;
  let bobApp: string;
  let carolApp: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' } });
    ({ t, control } = f);
    bobToken = (await f.user('bob')).token;
    const carolToken = (await f.user('carol')).token;
    const launch = async (token: string) => (await control.app.inject({
      method: 'POST', url: '/api/v1/instances', headers: { authorization: `Bearer ${token}` },
      payload: { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } },
    })).json().id as string;
    bobApp = await launch(bobToken);
    carolApp = await launch(carolToken);
  });
  afterEach(() => f.close());

  const login = async (name = 'bob', password = 'bob-password') => {
    const res = await control.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password }, headers: { origin: ORIGIN } });
    const setCookie = String(res.headers['set-cookie'] ?? '');
    return { res, setCookie, cookie: setCookie.split(';')[0] };
  };

  it('logs in with a password and sets a Secure, HttpOnly, Lax, expiring wharf_console cookie', async () => {
    const { res, setCookie, cookie } = await login();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user.name).toBe('bob');
    expect(setCookie).toMatch(/^wharf_console=v1\.[^;]+; Path=\/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax$/);
    const me = await control.app.inject({ url: '/api/v1/auth/me', headers: { cookie } });
    expect(me.json().user.name).toBe('bob');
    // Signed in, / is the dashboard (dashboard.ts), not a redirect to sign-in.
    const home = await control.app.inject({ url: '/', headers: { cookie } });
    expect(home.headers.location).toBeUndefined();
  });

  it('refuses a wrong password, and a login posted from another origin', async () => {
    const wrong = await login('bob', 'nope');
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.res.headers['x-wharf-error']).toBe('CTL_BAD_LOGIN');
    expect(wrong.setCookie).toBe('');
    const cross = await control.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name: 'bob', password: 'bob-password' }, headers: { origin: 'https://evil.test' } });
    expect(cross.headers['x-wharf-error']).toBe('CTL_BAD_ORIGIN');
  });

  it('accepts the cookie for the API; an unsafe method needs our Origin', async () => {
    const { cookie } = await login();
    const list = await control.app.inject({ url: '/api/v1/instances', headers: { cookie } });
    expect(list.statusCode).toBe(200);
    expect(list.json().instances.map((i: { id: string }) => i.id)).toEqual([bobApp]);
    for (const origin of [undefined, 'https://evil.test', 'https://wharf.test:9999', `https://${bobApp}.apps.test:8443`]) {
      const res = await control.app.inject({ method: 'POST', url: `/api/v1/instances/${bobApp}/token`, payload: {}, headers: { cookie, ...(origin ? { origin } : {}) } });
      expect(res.statusCode, origin).toBe(403);
      expect(res.headers['x-wharf-error']).toBe('CTL_BAD_ORIGIN');
    }
    const ok = await control.app.inject({ method: 'POST', url: `/api/v1/instances/${bobApp}/token`, payload: {}, headers: { cookie, origin: ORIGIN } });
    expect(ok.statusCode).toBe(200);
    // A Bearer token needs no Origin: scripts are not browsers.
    const bearer = await control.app.inject({ method: 'POST', url: `/api/v1/instances/${bobApp}/token`, payload: {}, headers: { authorization: `Bearer ${bobToken}` } });
    expect(bearer.statusCode).toBe(200);
  });

  it('logs out: the cookie is cleared and no longer accepted', async () => {
    const { cookie } = await login();
    const out = await control.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, origin: ORIGIN } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('wharf_console=; Path=/; Max-Age=0');
    expect((await control.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
    expect((await control.app.inject({ url: '/', headers: { cookie } })).headers.location).toBe('/signin?return=/');
  });

  it('refuses an expired or tampered cookie', async () => {
    const { cookie } = await login();
    expect((await control.app.inject({ url: '/api/v1/auth/me', headers: { cookie: cookie.slice(0, -2) + 'xx' } })).statusCode).toBe(401);
    t.clock.advance(12 * 3600 * 1000 + 1000);
    expect((await control.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('/auth/app: signed out → /signin; signed in → the app host with a one-time link, keeping return\'s path', async () => {
    const ret = `https://${bobApp}.apps.test:8443/lab/tree?x=1`;
    const url = `/auth/app?instance=${bobApp}&return=${encodeURIComponent(ret)}`;
    const out = await control.app.inject({ url });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe(`/signin?return=${encodeURIComponent(url)}`);
    const signin = await control.app.inject({ url: out.headers.location as string });
    expect(signin.statusCode).toBe(200);
    expect(signin.body).toContain('<label for="password">Password</label>');

    const { cookie } = await login();
    const go = await control.app.inject({ url, headers: { cookie } });
    expect(go.statusCode).toBe(303);
    const location = new URL(go.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(`https://${bobApp}.apps.test:8443/lab/tree`);
    expect(location.searchParams.get('x')).toBe('1');
    expect(location.searchParams.get('wharf_token')).toMatch(/^ey/);
    // Without return: the app's root.
    const root = await control.app.inject({ url: `/auth/app?instance=${bobApp}`, headers: { cookie } });
    expect(root.headers.location).toMatch(new RegExp(`^https://${bobApp}\\.apps\\.test:8443/\\?wharf_token=`));
    // Another user's instance is not bob's to open.
    expect((await control.app.inject({ url: `/auth/app?instance=${carolApp}`, headers: { cookie } })).statusCode).toBe(404);
  });

  it('refuses a return outside the instance\'s own host (no open redirect)', async () => {
    const { cookie } = await login();
    for (const ret of [
      'https://evil.test/', `https://${bobApp}.apps.test.evil.test:8443/`, `https://${carolApp}.apps.test:8443/`,
      `http://${bobApp}.apps.test:8443/`, `https://${bobApp}.apps.test:9999/`, `https://wharf.test:8443/`, '/relative', 'javascript:alert(1)',
      `https://user@${bobApp}.apps.test:8443/`,
      // The right host, but a path the gateway's Location would turn into another host.
      `https://${bobApp}.apps.test:8443//evil.test/x`, `https://${bobApp}.apps.test:8443/\\evil.test/x`,
    ]) {
      const res = await control.app.inject({ url: `/auth/app?instance=${bobApp}&return=${encodeURIComponent(ret)}`, headers: { cookie } });
      expect(res.statusCode, ret).toBe(400);
      expect(res.headers['x-wharf-error']).toBe('CTL_BAD_RETURN');
    }
    for (const ret of ['https://evil.test/', '//evil.test/', '/\\evil.test']) {
      const res = await control.app.inject({ url: `/signin?return=${encodeURIComponent(ret)}` });
      expect(res.headers['x-wharf-error'], ret).toBe('CTL_BAD_RETURN');
    }
  });
});

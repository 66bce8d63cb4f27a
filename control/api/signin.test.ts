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
    f = await apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' } });
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

describe('sign-in throttling (in process)', () => {
  let f: ApiFixture;
  let gatewayKey: string;
  beforeEach(async () => {
    // No waits (delayMs 0) and a refusal after three failures: the test needs no real time.
    f = await apiFixture({ hosts: { publicUrl: `${ORIGIN}/`, appsDomain: 'apps.test' }, signin: { refuseAfter: 3, delayMs: 0 } });
    await f.user('bob');
    gatewayKey = (await f.t.store.gateways.add('g1')).key;
  });
  afterEach(() => f.close());

  const login = (name: string, password: string, remoteAddress = '203.0.113.7', headers: Record<string, string> = {}) =>
    f.control.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password }, remoteAddress, headers: { origin: ORIGIN, ...headers } });
  const metric = async (reason: string) => {
    const text = (await f.control.app.inject({ url: '/metrics' })).body;
    return Number(new RegExp(`^wharf_control_signin_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };

  it('answers a wrong user name exactly as a wrong password', async () => {
    const unknown = await login('nobody', 'bob-password');
    const wrong = await login('bob', 'nope', '198.51.100.1');
    expect(unknown.statusCode).toBe(401);
    expect([unknown.statusCode, unknown.headers['x-wharf-error'], unknown.body]).toEqual([wrong.statusCode, wrong.headers['x-wharf-error'], wrong.body]);
  });

  it('refuses an address after its failures with 429 and Retry-After; another address and the right password still sign in', async () => {
    for (const name of ['bob', 'nobody', 'bob']) expect((await login(name, 'wrong')).statusCode).toBe(401);
    const refused = await login('bob', 'bob-password');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['x-wharf-error']).toBe('CTL_TOO_MANY_SIGNINS');
    expect(Number(refused.headers['retry-after'])).toBe(60);
    expect((await login('bob', 'bob-password', '198.51.100.1')).statusCode).toBe(200);
    expect(await metric('bad_login')).toBe(3);
    expect(await metric('throttled')).toBe(1);
    f.t.clock.advance(60_000);
    expect((await login('bob', 'bob-password')).statusCode).toBe(200);
  });

  it('believes X-Forwarded-For only with a gateway key control accepts', async () => {
    // Spoofed by a direct client: each request names another address, all count as the peer's.
    for (let i = 0; i < 3; i++) await login('bob', 'wrong', '127.0.0.1', { 'x-forwarded-for': `192.0.2.${i}`, 'x-wharf-gateway-key': 'wharfgw_nope_nope' });
    expect((await login('bob', 'wrong', '127.0.0.1', { 'x-forwarded-for': '192.0.2.9' })).statusCode).toBe(429);
    // Through a gateway (its key): the browser's address, not the gateway's, is counted.
    const viaGateway = { 'x-wharf-gateway-key': gatewayKey };
    expect((await login('bob', 'bob-password', '127.0.0.1', { ...viaGateway, 'x-forwarded-for': '192.0.2.1' })).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) await login('bob', 'wrong', '127.0.0.1', { ...viaGateway, 'x-forwarded-for': '192.0.2.2' });
    expect((await login('bob', 'bob-password', '127.0.0.1', { ...viaGateway, 'x-forwarded-for': '192.0.2.2' })).statusCode).toBe(429);
    expect((await login('bob', 'bob-password', '127.0.0.1', { ...viaGateway, 'x-forwarded-for': '192.0.2.3' })).statusCode).toBe(200);
  });
});

describe('the sign-in page', () => {
  let f: ApiFixture;
  beforeEach(async () => {
    f = await apiFixture();
  });
  afterEach(() => f.close());

  it('has no inline script or style: the dashboard\'s CSP, its stylesheet and /signin.js', async () => {
    const page = await f.control.app.inject({ url: '/signin?return=/apps' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.body).not.toMatch(/<script>|<style|style=/);
    expect(page.body).toMatch(/<script type="module" src="\/signin\.js"><\/script>/);
    const sheet = /<link rel="stylesheet" href="(\/ui\/style-[A-Z0-9]{8}\.css)">/.exec(page.body)?.[1];
    expect(sheet, 'the dashboard stylesheet').toBeDefined();
    const css = await f.control.app.inject({ url: sheet! });
    expect(css.statusCode).toBe(200);
    expect(css.body).toContain('.signin-card');
    const script = await f.control.app.inject({ url: '/signin.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toContain("fetch('/api/v1/auth/login'");
  });
});

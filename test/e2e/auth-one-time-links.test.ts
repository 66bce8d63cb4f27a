import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { createSigner, jwks, linkClaims, type Signer } from '../support/tokens.ts';
import { startUpstream, type SeenRequest, type Upstream } from '../support/upstream.ts';

/** A signer with a chosen key id (tokens.ts types `kid` as a UUID; any string is a valid kid). */

// DESIGN.md "Tokens": a one-time `?wharf_token=` link (jti, short exp) is exchanged for the
// host-only `__Host-wharf_session` cookie (HttpOnly, Secure, SameSite=Lax) with a 303 that drops the
// parameter; a link used twice is refused; Wharf's cookies never reach the app.

const everything = (seen: SeenRequest): string => `${seen.method} ${seen.url}\n${seen.rawHeaders.join('\n')}\n${seen.body}`;

interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case → value ('' for flags). */
  attrs: Map<string, string>;
}

function parseSetCookie(header: string | string[] | undefined): SetCookie[] {
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return list.map((line) => {
    const [pair, ...rest] = line.split(';');
    const eq = pair.indexOf('=');
    const attrs = new Map<string, string>();
    for (const a of rest) {
      const i = a.indexOf('=');
      if (a.trim() === '') continue;
      attrs.set((i < 0 ? a : a.slice(0, i)).trim().toLowerCase(), i < 0 ? '' : a.slice(i + 1).trim());
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
  });
}

describe('one-time browser links and the session cookie', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let signer: Signer;
  const sent: string[] = [];

  const get = (host: string, path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    request(gw.httpsPort, { host, path, ca: gw.ca, headers });

  /** Signs a link token for `instance` (remembered for the log check). */
  const link = async (instance: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const token = await signer.sign(linkClaims(instance, extra));
    sent.push(token);
    return token;
  };

  /** Opens a link and returns the session cookie's value from the 303. */
  const exchange = async (host: string, instance: string): Promise<string> => {
    const reply = await get(host, `/?wharf_token=${await link(instance)}`);
    expect(reply.status, reply.body).toBe(303);
    const cookie = parseSetCookie(reply.headers['set-cookie']).find((c) => c.name === '__Host-wharf_session');
    expect(cookie).toBeDefined();
    sent.push(cookie!.value);
    return cookie!.value;
  };

  const expectRefused = (reply: Reply, status: number, code: string): void => {
    expect(reply.status, reply.body).toBe(status);
    expect(reply.headers['x-wharf-error']).toBe(code);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(reply.headers['x-upstream']).toBeUndefined();
  };

  beforeAll(async () => {
    app = await startUpstream();
    signer = await createSigner();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-auth-links-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: app.url },
        { id: 'r2', target: app.url },
        { id: 'pub', target: app.url, public: true },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json'), '--access-log', '--log-level', 'debug'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
  });

  it('exchanges a link for a host-only, HttpOnly, Secure, SameSite=Lax cookie with a 303 that drops only the token', async () => {
    const before = app.seen.length;
    const token = await link('r1');
    const reply = await get('r1.apps.localhost', `/lab/tree/notebook.ipynb?kernel=python3&wharf_token=${token}&path=a%20b%2Fc&reset`);
    expect(reply.status, reply.body).toBe(303);
    expect(reply.headers['x-upstream']).toBeUndefined();
    expect(app.seen.length).toBe(before); // the exchange itself never reaches the app

    const location = new URL(reply.headers.location!, 'https://r1.apps.localhost');
    expect(location.host).toBe('r1.apps.localhost'); // same origin (a relative Location, or this very host)
    expect(location.pathname).toBe('/lab/tree/notebook.ipynb');
    expect(location.searchParams.has('wharf_token')).toBe(false);
    expect(location.searchParams.get('kernel')).toBe('python3');
    expect(location.searchParams.get('path')).toBe('a b/c');
    expect(location.searchParams.has('reset')).toBe(true);
    expect([...location.searchParams.keys()]).toEqual(['kernel', 'path', 'reset']);
    expect(reply.headers.location).not.toContain(token);

    const cookies = parseSetCookie(reply.headers['set-cookie']);
    expect(cookies.map((c) => c.name)).toEqual(['__Host-wharf_session']);
    const [cookie] = cookies;
    expect(cookie.value).not.toBe('');
    expect(cookie.value).not.toContain(token);
    expect(cookie.attrs.has('httponly')).toBe(true);
    expect(cookie.attrs.has('secure')).toBe(true);
    expect(cookie.attrs.get('samesite')?.toLowerCase()).toBe('lax');
    expect(cookie.attrs.get('path')).toBe('/');
    expect(cookie.attrs.has('domain')).toBe(false); // host-only
    expect(reply.headers['cache-control']).toMatch(/no-store/);
    sent.push(cookie.value);

    // The browser follows the redirect with its new cookie (and its own cookies).
    const follow = await get('r1.apps.localhost', reply.headers.location!, { cookie: `theme=dark; __Host-wharf_session=${cookie.value}; lang=en` });
    expect(follow.status, follow.body).toBe(200);
    expect(app.seen.length).toBe(before + 1);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe(reply.headers.location);
    expect(seen.headers.cookie).toBe('theme=dark; lang=en');
    expect(seen.headers.authorization).toBeUndefined();
    expect(everything(seen)).not.toContain(cookie.value);
    expect(everything(seen)).not.toContain(token);
    expect(everything(seen)).not.toContain('__Host-wharf_session');
    expect(everything(seen)).not.toContain('wharf_token');
  });

  it('keeps working with the cookie alone, and drops a cookie header made only of Wharf cookies', async () => {
    const value = await exchange('r1.apps.localhost', 'r1');
    const reply = await get('r1.apps.localhost', '/api/kernels', { cookie: `__Host-wharf_session=${value}` });
    expect(reply.status).toBe(200);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe('/api/kernels');
    expect(seen.headers.cookie === undefined || seen.headers.cookie === '').toBe(true);
    // The dashboard's cookie never reaches an app either.
    const both = await get('r1.apps.localhost', '/x', { cookie: `wharf_console=console-secret-value; __Host-wharf_session=${value}; _xsrf=abc` });
    expect(both.status).toBe(200);
    expect(app.seen.at(-1)!.headers.cookie).toBe('_xsrf=abc');
    expect(everything(app.seen.at(-1)!)).not.toContain('console-secret-value');
  });

  it('refuses the same link a second time with 401 GW_LINK_USED', async () => {
    const token = await link('r1');
    const first = await get('r1.apps.localhost', `/?wharf_token=${token}`);
    expect(first.status).toBe(303);
    const before = app.seen.length;
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${token}`), 401, 'GW_LINK_USED');
    // Another path or extra parameters do not make it new.
    expectRefused(await get('r1.apps.localhost', `/other?a=1&wharf_token=${token}`, { accept: 'application/json' }), 401, 'GW_LINK_USED');
    expect(app.seen.length).toBe(before);
  });

  it('refuses a link token without jti with 401 GW_AUTH_INVALID', async () => {
    const token = await link('r1', { jti: undefined });
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${token}`), 401, 'GW_AUTH_INVALID');
  });

  it('refuses a long-lived token as a link with 401', async () => {
    const token = await link('r1', { exp: Math.floor(Date.now() / 1000) + 24 * 3600 });
    const reply = await get('r1.apps.localhost', `/?wharf_token=${token}`);
    expectRefused(reply, 401, 'GW_AUTH_INVALID');
  });

  it('refuses an expired, foreign-key, wrong-audience or garbage link with 401 and no cookie', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${await link('r1', { iat: now - 120, exp: now - 30 })}`), 401, 'GW_AUTH_EXPIRED');
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${await link('r1', { aud: 'somebody-else' })}`), 401, 'GW_AUTH_INVALID');
    const stranger = await createSigner(signer.kid);
    const foreign = await stranger.sign(linkClaims('r1'));
    sent.push(foreign);
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${foreign}`), 401, 'GW_AUTH_INVALID');
    expectRefused(await get('r1.apps.localhost', '/?wharf_token=not-a-token'), 401, 'GW_AUTH_INVALID');
    const empty = await get('r1.apps.localhost', '/?wharf_token=');
    expect(empty.status).toBe(401);
    expect(empty.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a link for another instance with 403 GW_FORBIDDEN', async () => {
    expectRefused(await get('r1.apps.localhost', `/?wharf_token=${await link('r2')}`), 403, 'GW_FORBIDDEN');
  });

  it('refuses a cookie minted for r1 on r2 with 403 GW_FORBIDDEN', async () => {
    const value = await exchange('r1.apps.localhost', 'r1');
    expect((await get('r1.apps.localhost', '/', { cookie: `__Host-wharf_session=${value}` })).status).toBe(200);
    const before = app.seen.length;
    expectRefused(await get('r2.apps.localhost', '/', { cookie: `__Host-wharf_session=${value}` }), 403, 'GW_FORBIDDEN');
    expect(app.seen.length).toBe(before);
  });

  it('refuses a tampered cookie with 401', async () => {
    const value = await exchange('r1.apps.localhost', 'r1');
    const [v, body, mac] = value.split('.');
    // Claim another instance with the old MAC.
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const otherInstance = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(payload).map(([k, val]) => [k, val === 'r1' ? 'r2' : val])))).toString('base64url');
    const flipped = mac.slice(0, -2) + (mac.at(-2) === 'A' ? 'B' : 'A') + mac.at(-1);
    const before = app.seen.length;
    for (const [host, forged] of [
      ['r2.apps.localhost', `${v}.${otherInstance}.${mac}`],
      ['r1.apps.localhost', `${v}.${body}.${flipped}`],
      ['r1.apps.localhost', `${v}.${body}.`],
      ['r1.apps.localhost', `${v}.${body}`],
      ['r1.apps.localhost', 'garbage'],
      ['r1.apps.localhost', ''],
    ]) {
      const reply = await get(host, '/', { cookie: `__Host-wharf_session=${forged}` });
      expect(reply.status, forged).toBe(401);
      expect(['GW_AUTH_INVALID', 'GW_AUTH_EXPIRED', 'GW_AUTH_REQUIRED']).toContain(reply.headers['x-wharf-error']);
    }
    expect(app.seen.length).toBe(before);
  });

  it('does not accept a session cookie value as a Bearer token, nor a link token as a cookie', async () => {
    const value = await exchange('r1.apps.localhost', 'r1');
    expect((await get('r1.apps.localhost', '/', { authorization: `Bearer ${value}` })).status).toBe(401);
    const token = await link('r1');
    expect((await get('r1.apps.localhost', '/', { cookie: `__Host-wharf_session=${token}` })).status).toBe(401);
  });

  it('serves a public route without any token', async () => {
    const reply = await get('pub.apps.localhost', '/hello?x=1');
    expect(reply.status).toBe(200);
    expect(app.seen.at(-1)!.url).toBe('/hello?x=1');
  });

  /** Opens `/page?a=1&wharf_token=…&b=2` on the public route: a 303 to the same URL without the token, then 200. */
  const expectStripped = async (token: string): Promise<void> => {
    sent.push(token);
    const before = app.seen.length;
    const reply = await get('pub.apps.localhost', `/page?a=1&wharf_token=${token}&b=2`);
    expect(reply.status, reply.body).toBe(303);
    expect(reply.headers['x-wharf-error']).toBeUndefined();
    expect(app.seen.length).toBe(before); // the URL with the token never reached the app
    const location = new URL(reply.headers.location!, 'https://pub.apps.localhost');
    expect(location.pathname).toBe('/page');
    expect(location.searchParams.has('wharf_token')).toBe(false);
    expect(location.searchParams.get('a')).toBe('1');
    expect(location.searchParams.get('b')).toBe('2');
    const follow = await get('pub.apps.localhost', reply.headers.location!);
    expect(follow.status).toBe(200);
    expect(app.seen.length).toBe(before + 1);
    const seen = app.seen.at(-1)!;
    expect(seen.url).not.toContain('wharf_token');
    expect(everything(seen)).not.toContain(token);
  };

  it('strips a wharf_token parameter on a public route by redirect: a link for it, or garbage', async () => {
    await expectStripped(await link('pub'));
    await expectStripped('garbage-token-value-1234567890');
    const now = Math.floor(Date.now() / 1000);
    await expectStripped(await link('pub', { iat: now - 120, exp: now - 30 }));
  });

  it('strips an already-used link on a public route by redirect too (a public route needs no token)', async () => {
    const token = await link('pub');
    await expectStripped(token);
    await expectStripped(token);
  });

  it('strips a link for another instance on a public route by redirect too (a public route needs no token)', async () => {
    await expectStripped(await link('r1'));
  });

  it('never writes a link token or cookie value into its logs', async () => {
    expect(sent.length).toBeGreaterThan(10);
    const out = gw.output();
    expect(out).toContain('access');
    for (const secret of sent) {
      for (const part of secret.split('.').filter((p) => p.length >= 16)) expect(out).not.toContain(part);
    }
  });
});

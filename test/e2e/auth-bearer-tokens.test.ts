import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { createSigner, jwks, type Signer } from '../support/tokens.ts';
import { metric } from '../support/tcp.ts';
import { startUpstream, type SeenRequest, type Upstream } from '../support/upstream.ts';

/** A signer with a chosen key id (tokens.ts types `kid` as a UUID; any string is a valid kid). */

// DESIGN.md "Tokens": `Authorization: Bearer <EdDSA JWT>` with aud wharf-gateway, a scope
// naming the instance (or "*") and an exp. Anything else is 401; a token for another
// instance is 403; Wharf's token never reaches the app.

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Everything an upstream received in one request, as one string, to search for secrets. */
const everything = (seen: SeenRequest): string => `${seen.method} ${seen.url}\n${seen.rawHeaders.join('\n')}\n${seen.body}`;

describe('Bearer tokens on app routes', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let signer: Signer;
  /** Every token value these tests sent, none of which may show up in the gateway's logs. */
  const sent: string[] = [];

  const get = (host: string, headers: Record<string, string> = {}, path = '/'): Promise<Reply> => {
    if (headers.authorization) sent.push(headers.authorization.replace(/^bearer\s+/i, ''));
    return request(gw.httpsPort, { host, path, ca: gw.ca, headers });
  };
  const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

  const expectRefused = (reply: Reply, status: number, code: string): void => {
    expect(reply.status, reply.body).toBe(status);
    expect(reply.headers['x-wharf-error']).toBe(code);
    expect(reply.headers['x-upstream']).toBeUndefined();
  };

  beforeAll(async () => {
    app = await startUpstream();
    signer = await createSigner('key-1');
    const dir = mkdtempSync(join(tmpdir(), 'wharf-auth-bearer-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: app.url },
        { id: 'r2', target: app.url },
        { id: 'jup', target: app.url, headers: { Authorization: 'token s3cret' } },
        { id: 'shared', target: app.url, instance: 'inst-7' },
        { id: 'pub', target: app.url, public: true },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json'), '--access-log', '--log-level', 'debug'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
  });

  it('passes a valid token through with 200, and the app never sees it', async () => {
    const token = await signer.sign({ scope: ['r1'] });
    const before = app.seen.length;
    const reply = await get('r1.apps.localhost', bearer(token, { cookie: 'theme=dark', 'x-custom': 'kept' }), '/api/contents?x=1');
    expect(reply.status, reply.body).toBe(200);
    expect(reply.headers['x-upstream']).toBe('yes');
    expect(app.seen.length).toBe(before + 1);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe('/api/contents?x=1');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBe('theme=dark');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(everything(seen)).not.toContain(token);
    // The same token again (the gateway may answer it from its cache): same result.
    const again = await get('r1.apps.localhost', bearer(token));
    expect(again.status).toBe(200);
    expect(everything(app.seen.at(-1)!)).not.toContain(token);
  });

  it('accepts the scheme name in any case', async () => {
    const token = await signer.sign({ scope: ['r1'] });
    sent.push(token);
    const reply = await get('r1.apps.localhost', { authorization: `bearer ${token}` });
    expect(reply.status).toBe(200);
    expect(app.seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it("replaces the client's Bearer token by the route's own Authorization header", async () => {
    const token = await signer.sign({ scope: ['jup'] });
    const reply = await get('jup.apps.localhost', bearer(token), '/lab');
    expect(reply.status, reply.body).toBe(200);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe('/lab');
    expect(seen.headers.authorization).toBe('token s3cret');
    // Exactly one Authorization field went upstream.
    expect(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i].toLowerCase() === 'authorization')).toHaveLength(1);
    expect(everything(seen)).not.toContain(token);
  });

  it('checks the scope against the route instance, not its id', async () => {
    expect((await get('shared.apps.localhost', bearer(await signer.sign({ scope: ['inst-7'] })))).status).toBe(200);
    expectRefused(await get('shared.apps.localhost', bearer(await signer.sign({ scope: ['shared'] }))), 403, 'GW_FORBIDDEN');
  });

  it('refuses a request without any token with 401 GW_AUTH_REQUIRED', async () => {
    const before = app.seen.length;
    expectRefused(await get('r1.apps.localhost'), 401, 'GW_AUTH_REQUIRED');
    // Another scheme is not a Wharf token either.
    expectRefused(await get('r1.apps.localhost', { authorization: 'Basic YWxpY2U6c2VjcmV0' }), 401, 'GW_AUTH_REQUIRED');
    expectRefused(await get('r1.apps.localhost', { cookie: 'theme=dark' }), 401, 'GW_AUTH_REQUIRED');
    expect(app.seen.length).toBe(before);
  });

  it('refuses an expired token with 401 GW_AUTH_EXPIRED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signer.sign({ scope: ['r1'], iat: now - 600, exp: now - 60 });
    expectRefused(await get('r1.apps.localhost', bearer(token)), 401, 'GW_AUTH_EXPIRED');
  });

  it('refuses a token for another audience, or with none, with 401 GW_AUTH_INVALID', async () => {
    expectRefused(await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r1'], aud: 'wharf-control' }))), 401, 'GW_AUTH_INVALID');
    expectRefused(await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r1'], aud: undefined }))), 401, 'GW_AUTH_INVALID');
  });

  it('refuses a token without exp with 401', async () => {
    const reply = await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r1'], exp: undefined })));
    expect(reply.status).toBe(401);
    expect(['GW_AUTH_INVALID', 'GW_AUTH_EXPIRED']).toContain(reply.headers['x-wharf-error']);
  });

  it('refuses a token signed by another key under the same kid with 401 GW_AUTH_INVALID', async () => {
    const impostor = await createSigner('key-1');
    expectRefused(await get('r1.apps.localhost', bearer(await impostor.sign({ scope: ['*'] }))), 401, 'GW_AUTH_INVALID');
  });

  it('refuses a token signed by an unknown kid with 401 GW_AUTH_INVALID', async () => {
    const stranger = await createSigner('key-unknown');
    expectRefused(await get('r1.apps.localhost', bearer(await stranger.sign({ scope: ['*'] }))), 401, 'GW_AUTH_INVALID');
  });

  it('refuses an unsigned token (alg none) with 401 GW_AUTH_INVALID', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { aud: 'wharf-gateway', sub: 'mallory', scope: ['*'], iat: now, exp: now + 300 };
    for (const header of [{ alg: 'none' }, { alg: 'none', kid: 'key-1' }, { alg: 'none', typ: 'JWT' }]) {
      const token = `${b64url(header)}.${b64url(payload)}.`;
      expectRefused(await get('r1.apps.localhost', bearer(token)), 401, 'GW_AUTH_INVALID');
    }
    // A real token whose signature was stripped and header swapped to none.
    const real = await signer.sign({ scope: ['*'] });
    const [, body] = real.split('.');
    expectRefused(await get('r1.apps.localhost', bearer(`${b64url({ alg: 'none', kid: 'key-1' })}.${body}.`)), 401, 'GW_AUTH_INVALID');
  });

  it('refuses a token whose payload was altered after signing with 401 GW_AUTH_INVALID', async () => {
    const real = await signer.sign({ scope: ['r2'] });
    const [head, , sig] = real.split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged = `${head}.${b64url({ aud: 'wharf-gateway', sub: 'alice', scope: ['*'], iat: now, exp: now + 300 })}.${sig}`;
    expectRefused(await get('r1.apps.localhost', bearer(forged)), 401, 'GW_AUTH_INVALID');
  });

  it('refuses malformed garbage with 401 GW_AUTH_INVALID', async () => {
    for (const garbage of ['garbage', 'a.b.c', 'e30.e30.', '....', 'eyJhbGciOiJFZERTQSJ9.%%%.!!!', 'x'.repeat(2000)]) {
      expectRefused(await get('r1.apps.localhost', bearer(garbage)), 401, 'GW_AUTH_INVALID');
    }
  });

  it('refuses a token of the wrong shape (no scope, empty scope, scope not an array) with 401', async () => {
    for (const scope of [undefined, [], 'r1']) {
      const reply = await get('r1.apps.localhost', bearer(await signer.sign({ scope })));
      expect(reply.status, JSON.stringify(scope)).toBe(401);
      expect(reply.headers['x-wharf-error']).toBe('GW_AUTH_INVALID');
    }
  });

  it('refuses a valid token scoped to another instance with 403 GW_FORBIDDEN', async () => {
    const before = app.seen.length;
    expectRefused(await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r2'] }))), 403, 'GW_FORBIDDEN');
    expectRefused(await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r10', 'r'] }))), 403, 'GW_FORBIDDEN');
    expect(app.seen.length).toBe(before);
    // …while the same kind of token works on its own instance.
    expect((await get('r2.apps.localhost', bearer(await signer.sign({ scope: ['r2'] })))).status).toBe(200);
  });

  it('accepts a token scoped ["*"] on every app route', async () => {
    const token = await signer.sign({ scope: ['*'] });
    for (const host of ['r1.apps.localhost', 'r2.apps.localhost', 'jup.apps.localhost', 'shared.apps.localhost']) {
      const reply = await get(host, bearer(token));
      expect(reply.status, host).toBe(200);
      expect(everything(app.seen.at(-1)!)).not.toContain(token);
    }
  });

  it('accepts a token whose scope lists several instances', async () => {
    const token = await signer.sign({ scope: ['r9', 'r2', 'r1'] });
    expect((await get('r1.apps.localhost', bearer(token))).status).toBe(200);
    expect((await get('r2.apps.localhost', bearer(token))).status).toBe(200);
    expectRefused(await get('jup.apps.localhost', bearer(token)), 403, 'GW_FORBIDDEN');
  });

  it('serves a public route without a token', async () => {
    const reply = await get('pub.apps.localhost', {}, '/open');
    expect(reply.status).toBe(200);
    expect(app.seen.at(-1)!.url).toBe('/open');
  });

  it("does not pass a Wharf Bearer token on to a public route's app either", async () => {
    // A public app must not be able to collect tokens that open every other instance.
    const token = await signer.sign({ scope: ['*'] });
    const reply = await get('pub.apps.localhost', bearer(token, { cookie: 'theme=dark' }), '/open');
    expect(reply.status).toBe(200);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe('/open');
    expect(seen.headers.cookie).toBe('theme=dark');
    expect(everything(seen)).not.toContain(token);
  });

  it('answers refusals as JSON when the client accepts application/json, else as a page', async () => {
    const json = await get('r1.apps.localhost', { accept: 'application/json' });
    expectRefused(json, 401, 'GW_AUTH_REQUIRED');
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(json.body).error).toMatchObject({ code: 'GW_AUTH_REQUIRED', status: 401 });

    const forbidden = await get('r1.apps.localhost', bearer(await signer.sign({ scope: ['r2'] }), { accept: 'application/json' }));
    expectRefused(forbidden, 403, 'GW_FORBIDDEN');
    expect(JSON.parse(forbidden.body).error).toMatchObject({ code: 'GW_FORBIDDEN', status: 403 });

    const now = Math.floor(Date.now() / 1000);
    const expired = await get('r1.apps.localhost', bearer(await signer.sign({ exp: now - 5 }), { accept: 'application/json' }));
    expect(JSON.parse(expired.body).error).toMatchObject({ code: 'GW_AUTH_EXPIRED', status: 401 });

    const html = await get('r1.apps.localhost', { accept: 'text/html,application/xhtml+xml,application/json;q=0.9' });
    expectRefused(html, 401, 'GW_AUTH_REQUIRED');
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['cache-control']).toBe('no-store');
  });

  it('never writes a token into its logs', async () => {
    expect(sent.length).toBeGreaterThan(10);
    const out = gw.output();
    expect(out).toContain('access'); // the access log was on: requests were logged
    for (const token of sent) {
      for (const part of token.split('.').filter((p) => p.length >= 16)) expect(out).not.toContain(part);
    }
  });

  it("counts the requests it refuses in the route's metrics", async () => {
    const before = await metric(gw.adminPort, 'wharf_gateway_requests_total', { route: 'r2', code: '401' }) ?? 0;
    await request(gw.httpsPort, { host: 'r2.apps.localhost', ca: gw.ca });
    await request(gw.httpsPort, { host: 'r2.apps.localhost', ca: gw.ca, headers: { authorization: 'Bearer not.a.token' } });
    expect(await metric(gw.adminPort, 'wharf_gateway_requests_total', { route: 'r2', code: '401' })).toBe(before + 2);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { createSigner, jwks, linkClaims, type Signer } from '../support/tokens.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/** A signer with a chosen key id (tokens.ts types `kid` as a UUID; any string is a valid kid). */

// DESIGN.md "Tokens" applies to WebSocket upgrades as to requests: a valid Bearer token or
// session cookie lets the handshake through (the token stays behind), anything else is
// refused before the upgrade.

type Outcome = { open: true; ws: WebSocket } | { open: false; status: number; error: string | undefined };

describe('token authentication of WebSocket upgrades', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let signer: Signer;
  const sockets: WebSocket[] = [];

  /** Opens wss://<id>.apps.localhost/<path> through the gateway; resolves when open or refused. */
  const connect = (id: string, headers: Record<string, string> = {}, path = '/ws'): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      const host = `${id}.apps.localhost`;
      const options: WebSocket.ClientOptions & { servername: string } = { headers: { host, ...headers }, servername: host, ca: gw.ca, handshakeTimeout: 5_000 };
      const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}${path}`, options);
      sockets.push(ws);
      ws.once('open', () => resolve({ open: true, ws }));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        resolve({ open: false, status: res.statusCode!, error: res.headers['x-wharf-error'] as string | undefined });
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });

  const echo = (ws: WebSocket, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      ws.once('message', (data) => resolve(data.toString()));
      ws.once('error', reject);
      ws.send(text);
    });

  beforeAll(async () => {
    app = await startUpstream();
    signer = await createSigner();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-auth-ws-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        { id: 'r1', target: app.url },
        { id: 'r2', target: app.url },
        { id: 'jup', target: app.url, headers: { Authorization: 'token s3cret' } },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json'), '--access-log'] });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await gw?.stop();
    await app?.close();
  });

  it('lets a handshake with a valid Bearer token through, echoes, and keeps the token from the app', async () => {
    const token = await signer.sign({ scope: ['r1'] });
    const before = app.seen.length;
    const outcome = await connect('r1', { authorization: `Bearer ${token}`, cookie: 'theme=dark' });
    expect(outcome.open).toBe(true);
    if (!outcome.open) return;
    expect(await echo(outcome.ws, 'hello through the gateway')).toBe('hello through the gateway');
    expect(await echo(outcome.ws, 'and again')).toBe('and again');
    expect(app.seen.length).toBe(before + 1);
    const seen = app.seen.at(-1)!;
    expect(seen.url).toBe('/ws');
    expect(seen.headers.upgrade?.toLowerCase()).toBe('websocket');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBe('theme=dark');
    expect(seen.rawHeaders.join('\n')).not.toContain(token);
    outcome.ws.close();
  });

  it("sends the route's own Authorization header on the handshake instead of the token", async () => {
    const token = await signer.sign({ scope: ['jup'] });
    const outcome = await connect('jup', { authorization: `Bearer ${token}` }, '/api/kernels/k1/channels');
    expect(outcome.open).toBe(true);
    if (!outcome.open) return;
    expect(await echo(outcome.ws, 'kernel')).toBe('kernel');
    const seen = app.seen.at(-1)!;
    expect(seen.headers.authorization).toBe('token s3cret');
    expect(seen.rawHeaders.join('\n')).not.toContain(token);
    outcome.ws.close();
  });

  it('lets a handshake with the session cookie through, without passing the cookie on', async () => {
    const link = await signer.sign(linkClaims('r1'));
    const exchange = await request(gw.httpsPort, { host: 'r1.apps.localhost', path: `/?wharf_token=${link}`, ca: gw.ca });
    expect(exchange.status).toBe(303);
    const cookie = String(exchange.headers['set-cookie']).split(';')[0];
    const outcome = await connect('r1', { cookie: `${cookie}; lang=en` });
    expect(outcome.open).toBe(true);
    if (!outcome.open) return;
    expect(await echo(outcome.ws, 'cookie')).toBe('cookie');
    const seen = app.seen.at(-1)!;
    expect(seen.headers.cookie).toBe('lang=en');
    expect(seen.rawHeaders.join('\n')).not.toContain('__Host-wharf_session');
    outcome.ws.close();

    // The same cookie on another instance's host: refused.
    const other = await connect('r2', { cookie });
    expect(other).toMatchObject({ open: false, status: 403, error: 'GW_FORBIDDEN' });
  });

  it('refuses a handshake without a token with 401 GW_AUTH_REQUIRED, before reaching the app', async () => {
    const before = app.seen.length;
    expect(await connect('r1')).toMatchObject({ open: false, status: 401, error: 'GW_AUTH_REQUIRED' });
    expect(app.seen.length).toBe(before);
  });

  it('refuses a handshake with a bad, expired or foreign-key token with 401', async () => {
    const before = app.seen.length;
    const now = Math.floor(Date.now() / 1000);
    expect(await connect('r1', { authorization: 'Bearer not.a.token' })).toMatchObject({ open: false, status: 401, error: 'GW_AUTH_INVALID' });
    expect(await connect('r1', { authorization: `Bearer ${await signer.sign({ exp: now - 60 })}` })).toMatchObject({ open: false, status: 401, error: 'GW_AUTH_EXPIRED' });
    const stranger = await createSigner(signer.kid);
    expect(await connect('r1', { authorization: `Bearer ${await stranger.sign()}` })).toMatchObject({ open: false, status: 401, error: 'GW_AUTH_INVALID' });
    expect(app.seen.length).toBe(before);
  });

  it('refuses a handshake with a token for another instance with 403 GW_FORBIDDEN', async () => {
    expect(await connect('r1', { authorization: `Bearer ${await signer.sign({ scope: ['r2'] })}` })).toMatchObject({ open: false, status: 403, error: 'GW_FORBIDDEN' });
  });

  it('does not accept a one-time link on a handshake (it cannot follow the redirect)', async () => {
    const before = app.seen.length;
    const link = await signer.sign(linkClaims('r1'));
    const outcome = await connect('r1', {}, `/ws?wharf_token=${link}`);
    expect(outcome.open).toBe(false);
    if (outcome.open) return;
    expect(outcome.status).toBe(401);
    expect(app.seen.length).toBe(before);
  });

  it('never writes a token into its logs', () => {
    expect(gw.output()).not.toMatch(/eyJ[\w-]{10,}\.eyJ/); // no JWT at all
  });
});

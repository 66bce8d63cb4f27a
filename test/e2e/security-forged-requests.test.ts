import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { createSigner, jwks, linkClaims, type Signer } from '../support/tokens.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// Issue 14 §1 and §4 at the gateway, with raw HTTP clients that send what a browser sends:
// a request that rides on alice's app cookie but was made by another page (bob's app, any
// other site) never reaches alice's app; a top-level navigation and her own pages do; and no
// Location the gateway builds from a request path leaves the host. The same attack in a real
// browser, against Jupyter, is test/e2e/security-cross-app-browser.test.ts.

const ALICE = 'alice.apps.localhost';
const BOB_ORIGIN = 'https://bob.apps.localhost';
const meta = (site: string, mode: string, dest: string) => ({ 'sec-fetch-site': site, 'sec-fetch-mode': mode, 'sec-fetch-dest': dest });

describe('forged requests against an app, refused at the gateway', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let signer: Signer;
  let cookie: string;
  const sockets: WebSocket[] = [];

  const send = (method: string, path: string, headers: Record<string, string>, host = ALICE): Promise<Reply> =>
    request(gw.httpsPort, { host, path, method, ca: gw.ca, headers: { cookie, ...headers }, body: method === 'POST' ? '{}' : undefined });

  const expectRefused = (reply: Reply, before: number): void => {
    expect(reply.status, reply.body).toBe(403);
    expect(reply.headers['x-wharf-error']).toBe('GW_CROSS_SITE');
    expect(app.seen.length).toBe(before); // the app never saw it
  };

  const handshake = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}/terminals/websocket/1`, { headers: { host: ALICE, cookie, ...headers }, servername: ALICE, ca: gw.ca, handshakeTimeout: 5_000 } as WebSocket.ClientOptions);
      sockets.push(ws);
      ws.once('open', () => resolve(101));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        expect(res.headers['x-wharf-error']).toBe('GW_CROSS_SITE');
        resolve(res.statusCode!);
        res.resume();
      });
      ws.once('error', reject);
    });

  beforeAll(async () => {
    app = await startUpstream();
    signer = await createSigner();
    const dir = mkdtempSync(join(tmpdir(), 'wharf-forged-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({
      routes: [
        // Like Jupyter: the gateway adds the app's own token, so the app trusts every request.
        { id: 'alice', target: app.url, headers: { Authorization: 'token s3cret' } },
        { id: 'pub', target: app.url, public: true },
      ],
    }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json')] });
    const link = await request(gw.httpsPort, { host: ALICE, path: `/?wharf_token=${await signer.sign(linkClaims('alice'))}`, ca: gw.ca, headers: meta('cross-site', 'navigate', 'document') });
    expect(link.status, link.body).toBe(303);
    cookie = String(link.headers['set-cookie']).split(';')[0];
    expect(cookie).toMatch(/^__Host-wharf_session=/);
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await gw?.stop();
    await app?.close();
  });

  it("refuses bob's page POSTing to alice's app with her cookie (fetch no-cors, Fetch Metadata same-site)", async () => {
    const before = app.seen.length;
    expectRefused(await send('POST', '/api/terminals', { ...meta('same-site', 'no-cors', 'empty'), origin: BOB_ORIGIN }), before);
    expectRefused(await send('POST', '/api/terminals', { ...meta('cross-site', 'cors', 'empty'), origin: 'https://evil.example' }), before);
    // A form posted to the top window is a navigation, and still refused: it is an unsafe method.
    expectRefused(await send('POST', '/api/terminals', { ...meta('same-site', 'navigate', 'document'), origin: BOB_ORIGIN }), before);
  });

  it("refuses bob's page opening a WebSocket to alice's terminal", async () => {
    const before = app.seen.length;
    expect(await handshake({ ...meta('same-site', 'websocket', 'websocket'), origin: BOB_ORIGIN })).toBe(403);
    // A client without Fetch Metadata: the foreign Origin alone is enough.
    expect(await handshake({ origin: BOB_ORIGIN })).toBe(403);
    expect(app.seen.length).toBe(before);
  });

  it("refuses reading or framing alice's pages from another app (subresource, fetch, iframe)", async () => {
    const before = app.seen.length;
    expectRefused(await send('GET', '/api/contents', meta('same-site', 'cors', 'empty')), before);
    expectRefused(await send('GET', '/static/app.js', meta('same-site', 'no-cors', 'script')), before);
    expectRefused(await send('GET', '/', meta('same-site', 'navigate', 'iframe')), before);
    // Older clients: a foreign Origin on a read is refused too.
    expectRefused(await send('GET', '/api/contents', { origin: BOB_ORIGIN }), before);
  });

  it("serves alice's own pages, her typed address and a link she followed from elsewhere", async () => {
    expect((await send('POST', '/api/terminals', { ...meta('same-origin', 'cors', 'empty'), origin: `https://${ALICE}` })).status).toBe(200);
    expect((await send('GET', '/lab', meta('none', 'navigate', 'document'))).status).toBe(200);
    expect((await send('GET', '/lab', meta('same-site', 'navigate', 'document'))).status).toBe(200);
    expect((await send('GET', '/lab', meta('cross-site', 'navigate', 'document'))).status).toBe(200);
    // An old client on the app's own origin.
    expect((await send('POST', '/api/contents', { origin: `https://${ALICE}` })).status).toBe(200);
    expect(await handshake({ ...meta('same-origin', 'websocket', 'websocket'), origin: `https://${ALICE}` })).toBe(101);
  });

  it('reads the session from __Host-wharf_session only: a sibling app cannot plant the old name', async () => {
    const value = cookie.slice(cookie.indexOf('=') + 1);
    const reply = await send('GET', '/lab', { cookie: `wharf_session=${value}` });
    expect(reply.status).toBe(401);
    expect(reply.headers['x-wharf-error']).toBe('GW_AUTH_REQUIRED');
  });

  it('leaves programs with a Bearer token and public apps alone', async () => {
    const token = await signer.sign({ scope: ['alice'] });
    const bearer = await send('POST', '/api/terminals', { authorization: `Bearer ${token}`, cookie: '' });
    expect(bearer.status, bearer.body).toBe(200);
    const pub = await send('POST', '/form', { ...meta('cross-site', 'navigate', 'document'), cookie: '' }, 'pub.apps.localhost');
    expect(pub.status, pub.body).toBe(200);
  });

  it('keeps a Location built from the request path on the same host (no //evil.example open redirect)', async () => {
    for (const path of ['//evil.example/x', '/\\evil.example/x', '///evil.example/x']) {
      const token = await signer.sign(linkClaims('alice'));
      const reply = await request(gw.httpsPort, { host: ALICE, path: `${path}?wharf_token=${token}`, ca: gw.ca, headers: meta('cross-site', 'navigate', 'document') });
      expect(reply.status, reply.body).toBe(303);
      expect(reply.headers.location).toBe('/evil.example/x');
      // How a browser reads it: a path on alice's host.
      expect(new URL(reply.headers.location!, `https://${ALICE}:8443/`).host).toBe(`${ALICE}:8443`);
    }
  });
});

describe('path routing next to control', () => {
  it('is refused at start with the reason, since apps would share the dashboard origin', async () => {
    const err = await startGateway({ args: ['--path-routing'], env: { WHARF_GATEWAY_CONTROL: 'http://127.0.0.1:9', WHARF_GATEWAY_KEY: 'unused' } }).then(
      async (g) => { await g.stop(); return ''; },
      (e: Error) => e.message,
    );
    expect(err).toMatch(/--path-routing cannot be used with WHARF_GATEWAY_CONTROL/);
    expect(err).toMatch(/docs\/security\.md/);
  });
});

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request, type Reply } from '../support/https-client.ts';
import { createSigner, jwks, type Signer } from '../support/tokens.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/** A signer with a chosen key id (tokens.ts types `kid` as a UUID; any string is a valid kid). */

// DESIGN.md "Tokens": control publishes its signing keys as a JWKS and rotates them. The
// gateway reloads a JWKS file when it changes and refetches a JWKS URL when a token names a
// key id it does not hold (at most once per --jwks-cooldown-ms).

/** Polls `probe` until it returns true or `ms` pass; returns the last result. */
async function eventually(probe: () => Promise<boolean>, ms = 5_000, every = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(every);
  }
}

function routesFile(dir: string, app: Upstream): string {
  const file = join(dir, 'routes.json');
  writeFileSync(file, JSON.stringify({ routes: [{ id: 'r1', target: app.url }] }));
  return file;
}

describe('a JWKS file, rotated', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let oldKey: Signer;
  let newKey: Signer;
  let dir: string;
  let jwksFile: string;

  const get = (token: string): Promise<Reply> =>
    request(gw.httpsPort, { host: 'r1.apps.localhost', ca: gw.ca, headers: { authorization: `Bearer ${token}` } });

  /** Replaces the file the way deploy tools do: write aside, then rename over it. */
  const publish = (text: string): void => {
    writeFileSync(`${jwksFile}.tmp`, text);
    renameSync(`${jwksFile}.tmp`, jwksFile);
  };

  beforeAll(async () => {
    app = await startUpstream();
    oldKey = await createSigner('2024-old');
    newKey = await createSigner('2025-new');
    dir = mkdtempSync(join(tmpdir(), 'wharf-auth-jwks-file-'));
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, jwks(oldKey));
    gw = await startGateway({ args: ['--routes', routesFile(dir, app), '--jwks', jwksFile] });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
  });

  it('accepts the new key once the file names it, and refuses the old key once the file drops it', async () => {
    const oldToken = await oldKey.sign({ scope: ['r1'] });
    const newToken = await newKey.sign({ scope: ['r1'] });
    expect((await get(oldToken)).status).toBe(200); // now verified, and possibly cached
    expect((await get(newToken)).status).toBe(401);

    // Rotation step 1: both keys published (overlap).
    writeFileSync(jwksFile, jwks(oldKey, newKey));
    expect(await eventually(async () => (await get(newToken)).status === 200)).toBe(true);
    expect((await get(oldToken)).status).toBe(200);

    // Rotation step 2: the old key is retired. Its tokens stop working, even one already seen.
    publish(jwks(newKey));
    expect(await eventually(async () => (await get(oldToken)).status === 401)).toBe(true);
    const reply = await get(oldToken);
    expect(reply.headers['x-wharf-error']).toBe('GW_AUTH_INVALID');
    expect((await get(await oldKey.sign({ scope: ['r1'] }))).status).toBe(401);
    expect((await get(newToken)).status).toBe(200);
    expect((await get(await newKey.sign({ scope: ['r1'] }))).status).toBe(200);
  });

  it('keeps the current keys when the file is rewritten broken', async () => {
    const newToken = await newKey.sign({ scope: ['r1'] });
    writeFileSync(jwksFile, '{"keys": [ not json');
    await sleep(400);
    expect((await get(newToken)).status).toBe(200);
    expect((await get(await newKey.sign({ scope: ['r1'] }))).status).toBe(200);
    expect((await get(await oldKey.sign({ scope: ['r1'] }))).status).toBe(401);
    expect(gw.child.exitCode).toBeNull();
    // A good file again is picked up.
    const third = await createSigner('2026-next');
    writeFileSync(jwksFile, jwks(newKey, third));
    expect(await eventually(async () => (await get(await third.sign({ scope: ['r1'] }))).status === 200)).toBe(true);
  });
});

describe('a JWKS URL, rotated', () => {
  let gw: GatewayProcess;
  let app: Upstream;
  let server: http.Server;
  let keys: Signer[];
  const fetches: number[] = [];

  const get = (token: string): Promise<Reply> =>
    request(gw.httpsPort, { host: 'r1.apps.localhost', ca: gw.ca, headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    app = await startUpstream();
    keys = [await createSigner('url-key-1')];
    server = http.createServer((req, res) => {
      if (req.url !== '/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      fetches.push(Date.now());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(jwks(...keys));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const dir = mkdtempSync(join(tmpdir(), 'wharf-auth-jwks-url-'));
    gw = await startGateway({ args: ['--routes', routesFile(dir, app), '--jwks', url, '--jwks-cooldown-ms', '100'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('fetches the keys and accepts their tokens', async () => {
    const reply = await get(await keys[0].sign({ scope: ['r1'] }));
    expect(reply.status, reply.body).toBe(200);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    // Verified tokens do not cost a fetch each.
    const before = fetches.length;
    for (let i = 0; i < 5; i++) expect((await get(await keys[0].sign({ scope: ['r1'], jti: `request-${i}` }))).status).toBe(200);
    expect(fetches.length).toBe(before);
  });

  it('refetches when a token names a new kid after the cooldown, and accepts it', async () => {
    const before = fetches.length;
    const next = await createSigner('url-key-2');
    keys = [next]; // control rotated: only the new key is published
    await sleep(150); // past the 100 ms cooldown
    const reply = await get(await next.sign({ scope: ['r1'] }));
    expect(reply.status, reply.body).toBe(200);
    expect(fetches.length).toBeGreaterThan(before);
  });

  it('refuses a token whose kid is not published even after a refetch', async () => {
    await sleep(150);
    const before = fetches.length;
    const stranger = await createSigner('url-key-unknown');
    const reply = await get(await stranger.sign({ scope: ['r1'] }));
    expect(reply.status).toBe(401);
    expect(reply.headers['x-wharf-error']).toBe('GW_AUTH_INVALID');
    expect(fetches.length).toBeGreaterThan(before);
    // A flood of unknown kids does not turn into a flood of fetches.
    const tokens = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await createSigner(`flood-${i}`)).sign({ scope: ['r1'] })));
    const floodStart = fetches.length;
    const t0 = Date.now();
    const flood = await Promise.all(tokens.map(get));
    const elapsed = Date.now() - t0;
    for (const r of flood) expect(r.status).toBe(401);
    // At most one fetch per cooldown (100 ms) while the flood lasted, plus one.
    expect(fetches.length - floodStart).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 100));
  });
});

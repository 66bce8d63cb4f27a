import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { request } from '../support/https-client.ts';
import { createSigner, jwks, linkClaims, type Signer } from '../support/tokens.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

/*
 * A gateway on a routes file (no control) keeps the one-time links it exchanged under its
 * WHARF_HOME: a used link is refused after the gateway restarts, as before it.
 */
describe('one-time links on a routes-file gateway', () => {
  let dir: string;
  let gw: GatewayProcess | undefined;
  let app: Upstream;
  let signer: Signer;
  let args: string[];

  const open = (token: string) => request(gw!.httpsPort, { host: 'r1.apps.localhost', path: `/?wharf_token=${token}`, ca: gw!.ca, headers: { accept: 'application/json' } });

  beforeAll(async () => {
    app = await startUpstream();
    signer = await createSigner();
    dir = mkdtempSync(join(tmpdir(), 'wharf-links-restart-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'r1', target: app.url }] }));
    args = ['--routes', join(dir, 'routes.json'), '--jwks', join(dir, 'jwks.json')];
    gw = await startGateway({ args });
  });
  afterAll(async () => {
    await gw?.stop();
    await app?.close();
    if (gw) rmSync(gw.home, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a link used before the gateway restarted', async () => {
    const used = await signer.sign(linkClaims('r1'));
    const unused = await signer.sign(linkClaims('r1'));
    expect((await open(used)).status).toBe(303);
    const again = await open(used);
    expect(again.status).toBe(401);
    expect(again.headers['x-wharf-error']).toBe('GW_LINK_USED');

    const home = gw!.home;
    await gw!.stop();
    gw = await startGateway({ home, args });
    const afterRestart = await open(used);
    expect(afterRestart.status, afterRestart.body).toBe(401);
    expect(afterRestart.headers['x-wharf-error']).toBe('GW_LINK_USED');
    // A link never used works once, after the restart too.
    expect((await open(unused)).status).toBe(303);
    expect((await open(unused)).headers['x-wharf-error']).toBe('GW_LINK_USED');
    expect(statSync(join(home, 'gateway', 'used-links')).mode & 0o777).toBe(0o600);
  }, 30_000);
});

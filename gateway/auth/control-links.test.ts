import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LINK_CLAIM_PATH } from '../../protocol/token.ts';
import { ControlLinks } from './control-links.ts';

describe('ControlLinks (against a stand-in for control on a real socket)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  });

  /** Answers claims as control's store does, or with `status` for every claim. */
  async function control(status?: number) {
    const seen: { auth: string | undefined; body: unknown }[] = [];
    const used = new Set<string>();
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const body = JSON.parse(text) as { jti: string };
        seen.push({ auth: req.headers.authorization, body });
        if (req.url !== LINK_CLAIM_PATH) return res.writeHead(404).end();
        if (status) return res.writeHead(status).end();
        if (used.has(body.jti)) return res.writeHead(409, { 'x-wharf-error': 'CTL_LINK_USED' }).end('{}');
        used.add(body.jti);
        res.writeHead(201).end('{"claimed":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }
  const exp = () => Math.floor(Date.now() / 1000) + 60;

  it('claims at control with the gateway key: true once, false after, on this gateway or another', async () => {
    const c = await control();
    const a = new ControlLinks({ control: c.url, key: 'wharfgw_a_secret' });
    const b = new ControlLinks({ control: c.url, key: 'wharfgw_b_secret' });
    const e = exp();
    expect(await a.claim('link-0001', e)).toBe(true);
    expect(c.seen[0]).toEqual({ auth: 'Bearer wharfgw_a_secret', body: { jti: 'link-0001', exp: e } });
    expect(await b.claim('link-0001', e)).toBe(false);
    // A repeat on the gateway that claimed it is refused without asking control.
    expect(await a.claim('link-0001', e)).toBe(false);
    expect(c.seen).toHaveLength(2);
    a.close();
    b.close();
  });

  it('refuses links with GW_LINK_UNAVAILABLE when control is away or answers otherwise', async () => {
    const broken = await control(500);
    const refused = await control(401);
    const gone = await control();
    const goneUrl = gone.url;
    await new Promise((r) => { servers[2].closeAllConnections(); servers[2].close(r); });
    servers.pop();
    for (const url of [broken.url, refused.url, goneUrl]) {
      const links = new ControlLinks({ control: url, key: 'k', timeoutMs: 1_000 });
      await expect(links.claim('link-0002', exp())).rejects.toMatchObject({ code: 'GW_LINK_UNAVAILABLE' });
      links.close();
    }
  });
});

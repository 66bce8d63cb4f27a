import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LINK_CLAIM_PATH } from '../../protocol/token.ts';
import { USED_LINK_SKEW_MS } from './gateways.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

describe('POST /api/v1/gateways/links: a one-time link works once across gateways (in process)', () => {
  let f: ApiFixture;
  let g1: string;
  let g2: string;
  let admin: string;

  beforeEach(async () => {
    f = await apiFixture();
    admin = (await f.user('root', { admin: true })).token;
    g1 = (await f.call('POST', '/api/v1/gateways', admin, { name: 'g1' })).json().key;
    g2 = (await f.call('POST', '/api/v1/gateways', admin, { name: 'g2' })).json().key;
  });
  afterEach(() => f.close());

  const claim = (key: string | undefined, body: unknown) => f.call('POST', LINK_CLAIM_PATH, key, body);
  const exp = () => Math.floor(f.t.clock.now / 1000) + 60;

  it('lets the first gateway claim a link, and refuses it to every later claim, on any gateway', async () => {
    const first = await claim(g1, { jti: 'link-abc-123', exp: exp() });
    expect(first.statusCode, first.body).toBe(201);
    for (const key of [g1, g2]) {
      const again = await claim(key, { jti: 'link-abc-123', exp: exp() });
      expect(again.statusCode).toBe(409);
      expect(again.headers['x-wharf-error']).toBe('CTL_LINK_USED');
    }
    expect((await claim(g2, { jti: 'link-def-456', exp: exp() })).statusCode).toBe(201);
  });

  it('remembers a link until past its expiry (with room for gateway clocks), then sweeps it', async () => {
    const e = exp();
    expect((await claim(g1, { jti: 'link-abc-123', exp: e })).statusCode).toBe(201);
    expect(await f.t.store.usedLinks.sweep(e * 1000 + USED_LINK_SKEW_MS - 1)).toBe(0);
    expect(await f.t.store.usedLinks.sweep(e * 1000 + USED_LINK_SKEW_MS)).toBe(1);
  });

  it('takes only a gateway key, and a well-formed claim', async () => {
    for (const key of [undefined, admin, 'wharfgw_nope_nope']) {
      const res = await claim(key, { jti: 'link-abc-123', exp: exp() });
      expect(res.statusCode).toBe(401);
      expect(res.headers['x-wharf-error']).toBe('CTL_GATEWAY_KEY');
    }
    for (const [body, field] of [[{ jti: 'short', exp: exp() }, 'jti'], [{ jti: 'link-abc-123' }, 'exp'], [{ jti: 'link-abc-123', exp: 1.5 }, 'exp'], [{ jti: 'link-abc-123', exp: exp(), x: 1 }, 'x']] as const) {
      const res = await claim(g1, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.field).toBe(field);
    }
    // Nothing was claimed by the refused requests.
    expect((await claim(g1, { jti: 'link-abc-123', exp: exp() })).statusCode).toBe(201);
  });
});

import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionCookies } from './session-cookie.ts';

describe('SessionCookies', () => {
  const cookies = new SessionCookies(randomBytes(32));
  const now = Math.floor(Date.now() / 1000);

  it('verifies what it minted until it expires, issue time included', () => {
    const value = cookies.mint({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now - 5 });
    expect(cookies.verify(value)).toEqual({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now - 5 });
    expect(cookies.verify(value, now + 61)).toBe('expired');
  });

  it('refuses a changed payload, a cookie of another key, and garbage', () => {
    const value = cookies.mint({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now });
    const [v, , mac] = value.split('.');
    const forged = Buffer.from(JSON.stringify({ s: 'alice', i: 'r2', e: now + 60, t: now })).toString('base64url');
    expect(cookies.verify(`${v}.${forged}.${mac}`)).toBe('invalid');
    expect(new SessionCookies(randomBytes(32)).verify(value)).toBe('invalid');
    for (const junk of ['', 'v1', 'v1..', 'v2.a.b', 'v1.%%%.###']) expect(cookies.verify(junk)).toBe('invalid');
  });

  it('without a key accepts and makes nothing; a key from control makes two gateways agree, a new one ends the old cookies', () => {
    const key = randomBytes(32);
    const waiting = new SessionCookies();
    expect(waiting.ready).toBe(false);
    expect(waiting.verify(cookies.mint({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now }))).toBe('invalid');
    expect(() => waiting.mint({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now })).toThrow();

    const gw1 = new SessionCookies();
    const gw2 = new SessionCookies();
    expect(gw1.setKey(key)).toBe(true);
    expect(gw2.setKey(Buffer.from(key))).toBe(true);
    expect(gw2.setKey(Buffer.from(key))).toBe(false); // the same key again changes nothing
    const value = gw1.mint({ sub: 'alice', instance: 'r1', exp: now + 60, iat: now });
    expect(gw2.verify(value)).toMatchObject({ sub: 'alice', instance: 'r1' });
    gw2.setKey(randomBytes(32));
    expect(gw2.verify(value)).toBe('invalid');
    expect(() => gw1.setKey(randomBytes(16))).toThrow();
  });

  it('reads a cookie made before issue times were recorded as issued at 0', () => {
    const key = randomBytes(32);
    const c = new SessionCookies(key);
    const body = Buffer.from(JSON.stringify({ s: 'bob', i: 'r1', e: now + 60 })).toString('base64url');
    const old = `v1.${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
    expect(c.verify(old)).toEqual({ sub: 'bob', instance: 'r1', exp: now + 60, iat: 0 });
  });

  it('keeps its key in a 0600 file and reuses it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wharf-key-')), 'gateway', 'session.key');
    const a = SessionCookies.fromKeyFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const value = a.mint({ sub: 'bob', instance: 'x', exp: now + 60, iat: now });
    expect(SessionCookies.fromKeyFile(file).verify(value)).toMatchObject({ sub: 'bob' });
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionCookies } from './session-cookie.ts';

describe('SessionCookies', () => {
  const cookies = new SessionCookies(randomBytes(32));
  const now = Math.floor(Date.now() / 1000);

  it('verifies what it minted until it expires', () => {
    const value = cookies.mint({ sub: 'alice', instance: 'r1', exp: now + 60 });
    expect(cookies.verify(value)).toEqual({ sub: 'alice', instance: 'r1', exp: now + 60 });
    expect(cookies.verify(value, now + 61)).toBe('expired');
  });

  it('refuses a changed payload, a cookie of another key, and garbage', () => {
    const value = cookies.mint({ sub: 'alice', instance: 'r1', exp: now + 60 });
    const [v, , mac] = value.split('.');
    const forged = Buffer.from(JSON.stringify({ s: 'alice', i: 'r2', e: now + 60 })).toString('base64url');
    expect(cookies.verify(`${v}.${forged}.${mac}`)).toBe('invalid');
    expect(new SessionCookies(randomBytes(32)).verify(value)).toBe('invalid');
    for (const junk of ['', 'v1', 'v1..', 'v2.a.b', 'v1.%%%.###']) expect(cookies.verify(junk)).toBe('invalid');
  });

  it('keeps its key in a 0600 file and reuses it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wharf-key-')), 'gateway', 'session.key');
    const a = SessionCookies.fromKeyFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const value = a.mint({ sub: 'bob', instance: 'x', exp: now + 60 });
    expect(SessionCookies.fromKeyFile(file).verify(value)).toMatchObject({ sub: 'bob' });
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING, PENDING_TTL_MS, PendingSignIns, type PendingSignIn } from './pending-sign-ins.ts';
import { Sealer } from './sealed.ts';

const key = randomBytes(32);
const entry = (n: number, exp = 1_000_000): PendingSignIn => ({ state: `state-${n}`, nonce: `nonce-${n}`, verifier: `verifier-${n}-secret`, ret: '/', exp });
const valueOf = (setCookie: string) => /^wharf_oidc=([^;]*)/.exec(setCookie)![1];

describe('the pending sign-ins cookie', () => {
  const pending = new PendingSignIns(new Sealer(key, 'pending sign-in'));

  it('keeps the newest few, sealed, on the callback path only', () => {
    const list = Array.from({ length: MAX_PENDING + 3 }, (_, n) => entry(n));
    const header = pending.setCookie(list);
    expect(header).toMatch(new RegExp(`; Path=/auth/oidc; Max-Age=${PENDING_TTL_MS / 1000}; HttpOnly; Secure; SameSite=Lax$`));
    expect(header).not.toContain('verifier');
    const read = pending.read(valueOf(header), 0);
    expect(read.map((p) => p.state)).toEqual(list.slice(-MAX_PENDING).map((p) => p.state));
    // However many tabs start a sign-in, the cookie stays small.
    expect(header.length).toBeLessThan(1500);
  });

  it('drops the expired, and refuses an altered value or one sealed for something else', () => {
    const value = valueOf(pending.setCookie([entry(1, 100), entry(2, 200)]));
    expect(pending.read(value, 150).map((p) => p.state)).toEqual(['state-2']);
    const altered = value.slice(0, -2) + (value.endsWith('A') ? 'BB' : 'AA');
    expect(pending.read(altered, 0)).toEqual([]);
    const other = new Sealer(key, 'refresh token');
    expect(other.open(value)).toBeUndefined();
    expect(pending.read(new PendingSignIns(new Sealer(randomBytes(32), 'pending sign-in')).setCookie([entry(1)]).split(/[=;]/)[1], 0)).toEqual([]);
    expect(pending.read(undefined, 0)).toEqual([]);
    expect(pending.read('short', 0)).toEqual([]);
  });

  it('removes the cookie when none is pending', () => {
    expect(pending.setCookie([])).toBe('wharf_oidc=; Path=/auth/oidc; Max-Age=0; HttpOnly; Secure; SameSite=Lax');
  });
});

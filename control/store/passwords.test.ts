import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from './passwords.ts';
import { TEST_SCRYPT_COST } from './testing.ts';

describe('passwords', () => {
  it('hash as scrypt$N$r$p$salt$hash, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse', TEST_SCRYPT_COST);
    const b = await hashPassword('correct horse', TEST_SCRYPT_COST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verify the right password and refuse wrong ones', async () => {
    const stored = await hashPassword('correct horse', TEST_SCRYPT_COST);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsE', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
    expect(await verifyPassword('correct horse ', stored)).toBe(false);
  });

  it('read the cost from the hash, so hashes made at another cost still verify', async () => {
    const cheap = await hashPassword('pw', { N: 2 ** 11, r: 4, p: 2 });
    expect(cheap.split('$').slice(1, 4)).toEqual(['2048', '4', '2']);
    expect(await verifyPassword('pw', cheap)).toBe(true);
  });

  it('treat composed and decomposed Unicode as the same password (NFC)', async () => {
    const stored = await hashPassword('caf\u00e9', TEST_SCRYPT_COST);
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  it('refuse malformed or out-of-range hashes without throwing', async () => {
    const stored = await hashPassword('pw', TEST_SCRYPT_COST);
    const parts = stored.split('$');
    for (const bad of ['', 'pw', 'bcrypt$1$2$3$4$5', [...parts.slice(0, 1), '1000', ...parts.slice(2)].join('$'),
      [...parts.slice(0, 1), String(2 ** 30), ...parts.slice(2)].join('$'), [...parts.slice(0, 5), 'AAAA'].join('$')]) {
      expect(await verifyPassword('pw', bad)).toBe(false);
    }
  });

  it('default to an interactive cost (32 MiB of scrypt memory)', () => {
    expect(128 * DEFAULT_SCRYPT_COST.N * DEFAULT_SCRYPT_COST.r).toBe(32 * 1024 * 1024);
  });
});

import { describe, expect, it } from 'vitest';
import { API_TOKEN_PREFIX, GATEWAY_KEY_PREFIX, createCredential, hashSecret, parseCredential, secretMatches } from './api-tokens.ts';

describe('credentials', () => {
  it('look like wharf_<id>_<secret> and keep only the sha256 of the secret', () => {
    const c = createCredential();
    expect(c.token).toMatch(/^wharf_[a-z0-9]{12}_[a-z0-9]{40}$/);
    const parsed = parseCredential(c.token)!;
    expect(parsed.id).toBe(c.id);
    expect(c.hash).toBe(hashSecret(parsed.secret));
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.hash).not.toContain(parsed.secret);
  });

  it('verify the secret against the hash, and nothing else', () => {
    const c = createCredential();
    const { secret } = parseCredential(c.token)!;
    expect(secretMatches(secret, c.hash)).toBe(true);
    expect(secretMatches(secret.replace(/.$/, (ch) => (ch === 'a' ? 'b' : 'a')), c.hash)).toBe(false);
    expect(secretMatches(secret, 'abcd')).toBe(false);
  });

  it('parse only well-formed credentials of the expected kind', () => {
    const token = createCredential(API_TOKEN_PREFIX).token;
    const key = createCredential(GATEWAY_KEY_PREFIX).token;
    expect(key).toMatch(/^wharfgw_/);
    expect(parseCredential(key, API_TOKEN_PREFIX)).toBeUndefined();
    expect(parseCredential(token, GATEWAY_KEY_PREFIX)).toBeUndefined();
    for (const bad of ['', 'wharf_', `${token}x`, token.toUpperCase(), ` ${token}`, token.replace('wharf_', 'wharf__')]) {
      expect(parseCredential(bad)).toBeUndefined();
    }
  });

  it('never repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => createCredential().token));
    expect(seen.size).toBe(1000);
  });
});

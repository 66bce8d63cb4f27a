import { describe, expect, it } from 'vitest';
import { Allowlist } from './allowlist.ts';

describe('Allowlist', () => {
  it('allows addresses inside its CIDRs, IPv4-mapped ones included', () => {
    const list = new Allowlist(['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
    expect(list.allows('127.0.0.1')).toBe(true);
    expect(list.allows('::ffff:127.9.9.9')).toBe(true);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('10.1.200.3')).toBe(true);
    expect(list.allows('10.2.0.1')).toBe(false);
    expect(list.allows('192.168.1.1')).toBe(false);
    expect(list.allows(undefined)).toBe(false);
  });

  it('allows nothing when empty, and refuses a bad CIDR by name', () => {
    expect(new Allowlist([]).allows('127.0.0.1')).toBe(false);
    expect(() => new Allowlist(['127.0.0.1/33'])).toThrow(/127.0.0.1\/33/);
    expect(() => new Allowlist(['host/8'])).toThrow(/host\/8/);
  });
});

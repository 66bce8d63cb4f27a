import { describe, expect, it } from 'vitest';
import { auditQuery, detailText, localTime, readAuditFilters } from './audit-format.ts';

describe('audit page formatting', () => {
  it('keeps known, non-blank filters, in a stable order', () => {
    const q = new URLSearchParams('action=user.add&user=%20bob%20&instance=&before=12&x=1');
    expect(readAuditFilters(q)).toEqual({ user: 'bob', action: 'user.add' });
    expect(auditQuery(readAuditFilters(q))).toBe('?user=bob&action=user.add');
    expect(auditQuery({})).toBe('');
  });

  it('asks for an older page with the cursor, and escapes the values', () => {
    expect(auditQuery({ instance: 'r1-abc' }, '42')).toBe('?instance=r1-abc&before=42');
    expect(auditQuery({}, '7')).toBe('?before=7');
    expect(auditQuery({ user: 'a&b=c' }, null)).toBe('?user=a%26b%3Dc');
  });

  it('writes a time in local time to the second', () => {
    // Built from local parts, so the test holds in any time zone.
    expect(localTime(new Date(2026, 0, 2, 3, 4, 5, 678).toISOString())).toBe('2026-01-02 03:04:05');
    expect(localTime('not a time')).toBe('not a time');
  });

  it('writes the detail as key=value pairs, quoting what would not read as one', () => {
    expect(detailText({})).toBe('');
    expect(detailText({ method: 'password', admin: true, snapshots: 3 })).toBe('method=password admin=true snapshots=3');
    expect(detailText({ reason: 'bad password', name: '', eq: 'a=b' })).toBe('reason="bad password" name="" eq="a=b"');
  });
});

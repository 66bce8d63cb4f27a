import { describe, expect, it } from 'vitest';
import { bearerToken, readCookie, takeLinkToken, withoutWharfCookies } from './credentials.ts';

describe('credentials', () => {
  it('reads one cookie among several', () => {
    expect(readCookie('a=1; __Host-wharf_session=v1.x.y; b=2', '__Host-wharf_session')).toBe('v1.x.y');
    expect(readCookie('x__Host-wharf_session=1', '__Host-wharf_session')).toBeUndefined();
    expect(readCookie(undefined, 'a')).toBeUndefined();
  });

  it('drops only Wharf cookies from what goes upstream', () => {
    expect(withoutWharfCookies('a=1; __Host-wharf_session=s; b=2; wharf_console=c')).toBe('a=1; b=2');
    expect(withoutWharfCookies('__Host-wharf_session=s')).toBeUndefined();
    expect(withoutWharfCookies('my_wharf_pref=1')).toBe('my_wharf_pref=1');
    const untouched = 'a=1; b=2';
    expect(withoutWharfCookies(untouched)).toBe(untouched);
  });

  it('accepts only the Bearer scheme', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('token abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('takes the link token out of a URL and keeps the rest', () => {
    expect(takeLinkToken('/lab?x=1&wharf_token=T&y=2')).toEqual({ token: 'T', rest: '/lab?x=1&y=2' });
    expect(takeLinkToken('/?wharf_token=T')).toEqual({ token: 'T', rest: '/' });
    expect(takeLinkToken('/wharf_token=T')).toBeUndefined();
    expect(takeLinkToken('/?a=1')).toBeUndefined();
  });
});

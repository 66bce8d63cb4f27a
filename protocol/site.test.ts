import { describe, expect, it } from 'vitest';
import { sameSite } from './site.ts';

describe('sameSite', () => {
  it('counts a subdomain of the dashboard host as the same site', () => {
    expect(sameSite('wharf.example.com', 'apps.wharf.example.com')).toBe(true);
    expect(sameSite('example.com', 'apps.example.com')).toBe(true);
    expect(sameSite('Dash.Example.com.', 'apps.example.com')).toBe(true);
  });

  it('tells apart hosts that share no registrable domain', () => {
    expect(sameSite('localhost', 'apps.localhost')).toBe(false);
    expect(sameSite('wharf.example.com', 'apps.example-usercontent.com')).toBe(false);
    expect(sameSite('127.0.0.1', 'apps.localhost')).toBe(false);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProjectGroups, ssoConfig, type SsoSettings } from './sso-config.ts';

const base: SsoSettings = { oidcScopes: 'openid profile email', oidcGroupsClaim: 'groups', oidcAdminGroups: '', oidcProjectGroups: '' };

describe('single sign-on settings', () => {
  it('is off without an issuer, and says what is missing with one', () => {
    expect(ssoConfig(base)).toBeUndefined();
    expect(() => ssoConfig({ ...base, oidcClientId: 'wharf' })).toThrow(/--oidc-client-id .* without --oidc-issuer/);
    expect(() => ssoConfig({ ...base, oidcIssuer: 'http://idp.example' })).toThrow(/must be an https: URL/);
    expect(() => ssoConfig({ ...base, oidcIssuer: 'not a url' })).toThrow(/identity provider.s URL, got "not a url"/);
    expect(() => ssoConfig({ ...base, oidcIssuer: 'https://idp.example' })).toThrow(/--oidc-client-id .* is required/);
    expect(() => ssoConfig({ ...base, oidcIssuer: 'https://idp.example', oidcClientId: 'wharf' })).toThrow(/client-secret-file .* is required/);
    expect(() => ssoConfig({ ...base, oidcIssuer: 'https://idp.example', oidcClientId: 'wharf', oidcClientSecret: 's', oidcScopes: 'profile' })).toThrow(/must include openid/);
  });

  it('reads the secret from a file, names the IdP after its host, and parses the group mappings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sso-'));
    try {
      writeFileSync(join(dir, 'secret'), 'from-a-file\n');
      const config = ssoConfig({
        ...base, oidcIssuer: 'https://idp.example/realms/team', oidcClientId: 'wharf', oidcClientSecretFile: join(dir, 'secret'),
        oidcAdminGroups: 'ops, wharf-admins', oidcProjectGroups: 'ml-team=ml:user, ml-leads=ml:owner, ml-leads=Vision Lab:viewer',
      })!;
      expect(config.clientSecret).toBe('from-a-file');
      expect(config.name).toBe('idp.example');
      expect([...config.adminGroups]).toEqual(['ops', 'wharf-admins']);
      expect(config.projectGroups.get('ml-leads')).toEqual([{ project: 'ml', role: 'owner' }, { project: 'Vision Lab', role: 'viewer' }]);
      expect(() => ssoConfig({ ...base, oidcIssuer: 'https://idp.example', oidcClientId: 'w', oidcClientSecretFile: join(dir, 'missing') })).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a project mapping it cannot read, naming it', () => {
    for (const bad of ['ml-team', 'ml-team=ml', 'ml-team=ml:admin', '=ml:user', 'g=:user']) {
      expect(() => parseProjectGroups(bad), bad).toThrow(/must be GROUP=PROJECT:ROLE/);
    }
  });
});

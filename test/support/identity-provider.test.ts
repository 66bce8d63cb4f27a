// The test identity provider itself, driven by openid-client as the relying party: discovery
// over its private CA, the authorization code flow with PKCE, groups in the ID token and at
// userinfo, refreshes that see changed groups, and a disabled account losing its refresh.
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki } from './browser.ts';
import { startIdentityProvider, type IdentityProvider } from './identity-provider.ts';

const REDIRECT_URI = 'https://wharf.test/oauth/callback';

describe('startIdentityProvider', () => {
  let idp: IdentityProvider;
  let agent: Agent;
  let config: client.Configuration;

  /** An authorization URL as an RP builds it, with what the RP keeps to finish the flow. */
  async function authorization(extra: Record<string, string> = {}, pkce = true) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params: Record<string, string> = { redirect_uri: REDIRECT_URI, scope: 'openid profile email', state, nonce, ...extra };
    if (pkce) Object.assign(params, { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    return { url: client.buildAuthorizationUrl(config, params).href, verifier, state, nonce };
  }

  /** Signs `login` in and exchanges the code, as the RP's callback does. */
  async function signIn(login: string) {
    const auth = await authorization();
    const callback = await idp.signIn(auth.url, login);
    expect(callback.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    return client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: auth.verifier, expectedState: auth.state, expectedNonce: auth.nonce });
  }

  beforeAll(async () => {
    idp = await startIdentityProvider({ redirectUris: [REDIRECT_URI], postLogoutRedirectUris: ['https://wharf.test/'] });
    // openid-client uses the global fetch, which knows only the system CAs: its requests go
    // through an undici Agent that trusts the IdP's CA instead.
    agent = new Agent({ connect: { ca: idp.caPem } });
    const caFetch: client.CustomFetch = (url, options) => undiciFetch(url, { ...options, dispatcher: agent }) as unknown as Promise<Response>;
    config = await client.discovery(new URL(idp.issuer), idp.clientId, idp.clientSecret, client.ClientSecretBasic(idp.clientSecret), { [client.customFetch]: caFetch });
  });
  afterAll(async () => {
    await agent?.close();
    await idp?.stop();
  });

  it('serves discovery on https://localhost with the certificate it reports', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(idp.issuer);
    expect(idp.issuer).toMatch(/^https:\/\/localhost:\d+$/);
    expect(meta.end_session_endpoint).toBe(`${idp.issuer}/session/end`);
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(meta.claims_supported).toEqual(expect.arrayContaining(['groups', 'preferred_username', 'email']));
    expect(readFileSync(idp.caFile, 'utf8')).toBe(idp.caPem);
    const port = Number(new URL(idp.issuer).port);
    expect(await gatewaySpki(port, idp.caPem, 'localhost')).toBe(idp.spki);
  });

  it('signs a user in with the code flow and PKCE, refreshes with current groups, and refuses a disabled account', async () => {
    idp.setAccount('alice', { groups: ['wharf-users'], email: 'alice@example.test', name: 'Alice' });
    const tokens = await signIn('alice');
    const claims = tokens.claims()!;
    expect(claims.sub).toBe('alice');
    expect(claims.groups).toEqual(['wharf-users']);
    expect(tokens.expiresIn()).toBeLessThanOrEqual(5);
    expect(tokens.refresh_token).toBeTruthy();
    expect(await client.fetchUserInfo(config, tokens.access_token, 'alice')).toMatchObject({
      sub: 'alice', preferred_username: 'alice', name: 'Alice', groups: ['wharf-users'], email: 'alice@example.test', email_verified: true,
    });

    idp.setAccount('alice', { groups: ['wharf-users', 'wharf-admins'], email: 'alice@example.test', name: 'Alice' });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe('alice');
    expect(refreshed.claims()?.groups).toEqual(['wharf-users', 'wharf-admins']);
    expect((await client.fetchUserInfo(config, refreshed.access_token, 'alice')).groups).toEqual(['wharf-users', 'wharf-admins']);

    idp.setAccount('alice', { groups: ['wharf-admins'], disabled: true });
    const refused = await client.refreshTokenGrant(config, refreshed.refresh_token ?? tokens.refresh_token!).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect(refused).toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('refuses a sign-in without PKCE, and an unknown or disabled account at the login form', async () => {
    idp.setAccount('bob', { groups: ['wharf-users'] });
    const noPkce = new URL(await idp.signIn((await authorization({}, false)).url, 'bob'));
    expect(noPkce.searchParams.get('error')).toBe('invalid_request');
    expect(noPkce.searchParams.get('error_description')).toMatch(/PKCE/);

    await expect(idp.signIn((await authorization()).url, 'mallory')).rejects.toThrow(/asked mallory to sign in again/);
    idp.setAccount('bob', { disabled: true });
    await expect(idp.signIn((await authorization()).url, 'bob')).rejects.toThrow(/asked bob to sign in again/);
    idp.setAccount('bob', { groups: ['wharf-users'] });
    expect((await signIn('bob')).claims()?.sub).toBe('bob');
  });
});

import * as oidc from 'openid-client';
import type { SsoConfig } from './sso-config.ts';

/** What a sign-in or a refresh learnt: the account, its claims now, and the tokens to keep. */
export interface Grant {
  subject: string;
  /** The ID token's claims, overlaid by the userinfo endpoint's (current groups, names). */
  claims: Record<string, unknown>;
  refreshToken?: string;
  idToken?: string;
  /** Seconds the access token lasts: when the claims are read again. */
  expiresInS: number;
}

/** A refusal by the identity provider itself (`invalid_grant`: a disabled account, a revoked grant), as opposed to its being unreachable. */
export function refusedByProvider(err: unknown): string | undefined {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) return err.error;
  // The userinfo endpoint refusing the new access token (the account went away in between).
  if (err instanceof oidc.WWWAuthenticateChallengeError) return err.cause[0]?.parameters.error ?? 'invalid_token';
  return undefined;
}

const REQUEST_TIMEOUT_S = 10;
/** The access token's lifetime when the IdP does not say. */
const DEFAULT_EXPIRES_IN_S = 300;

/**
 * Control as an OpenID Connect relying party, through openid-client: the authorization code
 * flow with PKCE (S256), state and nonce; refreshes; the end-session URL. The IdP's metadata
 * is discovered at first use and again after a failure, so that control starts (and password
 * sign-in works) while the IdP is away. The IdP is reached with Node's fetch, which trusts
 * the system's CAs and NODE_EXTRA_CA_CERTS (an IdP under a private CA).
 */
export class IdentityProvider {
  readonly #config: SsoConfig;
  #discovered: Promise<oidc.Configuration> | undefined;

  constructor(config: SsoConfig) {
    this.#config = config;
  }

  get name(): string {
    return this.#config.name;
  }

  async #metadata(): Promise<oidc.Configuration> {
    this.#discovered ??= oidc.discovery(this.#config.issuer, this.#config.clientId, undefined, oidc.ClientSecretBasic(this.#config.clientSecret), { timeout: REQUEST_TIMEOUT_S });
    try {
      const config = await this.#discovered;
      config.timeout = REQUEST_TIMEOUT_S;
      return config;
    } catch (err) {
      this.#discovered = undefined;
      throw err;
    }
  }

  /** Where the browser goes to sign in: the IdP's authorization endpoint with this sign-in's checks. */
  async authorizationUrl(redirectUri: string, p: { state: string; nonce: string; verifier: string }): Promise<URL> {
    const config = await this.#metadata();
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.#config.scopes,
      state: p.state,
      nonce: p.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(p.verifier),
      code_challenge_method: 'S256',
    });
  }

  /** The callback: checks state, nonce and PKCE, exchanges the code, and reads the claims. `callbackUrl` is the public URL the IdP redirected to. */
  async exchange(callbackUrl: URL, p: { state: string; nonce: string; verifier: string }): Promise<Grant> {
    const config = await this.#metadata();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce, idTokenExpected: true });
    return this.#grant(config, tokens);
  }

  /** A refresh: new tokens and the claims as they are now. Throws what refusedByProvider recognizes when the IdP refuses it. */
  async refresh(refreshToken: string, subject: string): Promise<Grant> {
    const config = await this.#metadata();
    const tokens = await oidc.refreshTokenGrant(config, refreshToken, { scope: this.#config.scopes });
    const grant = await this.#grant(config, tokens, subject);
    if (grant.subject !== subject) throw new Error('the identity provider refreshed another account');
    return grant;
  }

  /** The IdP's end-session URL (RP-initiated logout), or undefined when it has none. */
  async endSessionUrl(idToken: string | null, postLogoutRedirect: string): Promise<string | undefined> {
    const config = await this.#metadata();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { client_id: this.#config.clientId, post_logout_redirect_uri: postLogoutRedirect };
    if (idToken) params.id_token_hint = idToken;
    return oidc.buildEndSessionUrl(config, params).href;
  }

  async #grant(config: oidc.Configuration, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, knownSubject?: string): Promise<Grant> {
    const idClaims = tokens.claims();
    const subject = idClaims?.sub ?? knownSubject;
    if (!subject) throw new Error('the identity provider sent no ID token');
    // The userinfo endpoint has the claims as they are now: a refresh may come without an ID token.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, subject);
    return {
      subject,
      claims: { ...idClaims, ...info },
      refreshToken: tokens.refresh_token,
      idToken: tokens.id_token,
      expiresInS: tokens.expiresIn() ?? DEFAULT_EXPIRES_IN_S,
    };
  }
}

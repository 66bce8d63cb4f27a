import { randomBytes } from 'node:crypto';
import { LINK_PARAM } from '../../protocol/token.ts';
import { ValidationError } from '../../protocol/validate.ts';
import type { SigningKeys } from './signing-keys.ts';

/*
 * The tokens control hands out for the gateway (DESIGN.md "Tokens"):
 *
 * - API tokens, for programs sending `Authorization: Bearer`: scoped to instance ids (or
 *   `["*"]`), lifetime API_TOKEN_DEFAULT_LIFETIME_S unless asked, at most
 *   API_TOKEN_MAX_LIFETIME_S (24 h). Gateway tokens cannot be revoked one by one (the gateway
 *   checks signatures, not a list), so their lifetime is what bounds a leaked one; longer-lived
 *   access is what control's own API tokens are for, and they can mint these again. All of a
 *   user's tokens issued before a revocation of their sessions (a changed password, a removed
 *   user: docs/sessions.md) are refused by every gateway fed by control.
 * - One-time browser links: scope `[instance]`, a random `jti`, 60 s; the first gateway to
 *   claim the `jti` at control exchanges the token for its `__Host-wharf_session` cookie, and
 *   every later use, on any gateway, is refused.
 *
 * Every time is given (`now`, Unix ms): nothing here reads the clock.
 */

export const API_TOKEN_DEFAULT_LIFETIME_S = 3_600; // one hour
export const API_TOKEN_MAX_LIFETIME_S = 86_400; // 24 hours
export const LINK_LIFETIME_S = 60; // one minute

/** Where apps are reached: `https://<id>.<appsDomain>[:port]/`, scheme and port from the public URL. */
export interface AppHosts {
  /** e.g. `apps.localhost` */
  appsDomain: string;
  /** The gateway's public URL, e.g. `https://localhost:8443/`. */
  publicUrl: string;
}

export interface IssuedToken {
  token: string;
  scope: string[];
  /** Unix ms. */
  expiresAt: number;
}

export interface BrowserLink extends IssuedToken {
  jti: string;
  /** `https://<id>.<appsDomain>[:port]/?wharf_token=…` */
  url: string;
}

/** Until a public URL is set (or reported by a gateway): the defaults of DESIGN.md. */
export const DEFAULT_APP_HOSTS: AppHosts = { appsDomain: 'apps.localhost', publicUrl: 'https://localhost:8443/' };

/** An instance id is a DNS label (the app's host name); `*` means every instance. */
const INSTANCE_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The app's base URL: `links.https` and `links.endpoint` of the instance view. */
export function appBaseUrl(instance: string, hosts: AppHosts): string {
  checkInstance(instance, 'instance');
  let base: URL;
  try {
    base = new URL(hosts.publicUrl);
  } catch {
    throw new ValidationError('publicUrl', `"${hosts.publicUrl}" is not a URL`);
  }
  const domain = hosts.appsDomain.replace(/^\.+|\.+$/g, '').toLowerCase();
  if (!domain) throw new ValidationError('appsDomain', 'must be a domain such as apps.localhost');
  // URL.port is empty for the scheme's default port, which a link leaves out.
  const url = new URL(`${base.protocol}//${instance}.${domain}/`);
  url.port = base.port;
  return url.href;
}

/**
 * The latest revocation time of a user's app sessions, Unix ms (AppSessions.notBefore), or
 * undefined. Gateways refuse a token whose `iat` (whole seconds) is before it.
 */
export type NotBefore = (sub: string) => number | undefined;

export class GatewayTokens {
  readonly #keys: SigningKeys;
  readonly #hosts: AppHosts;
  readonly #notBefore: NotBefore | undefined;

  constructor(keys: SigningKeys, hosts: AppHosts, notBefore?: NotBefore) {
    this.#keys = keys;
    this.#hosts = hosts;
    this.#notBefore = notBefore;
    appBaseUrl('x', hosts); // refuse a bad public URL or apps domain now, not at the first link
  }

  /**
   * `now`, or the first whole second at or after the user's last revocation when that is
   * later: a token issued in the same second as a password change, after it, must not be
   * taken for one from before it (gateways compare `iat * 1000 < before`). Shifts a token's
   * times by under a second, only within that second.
   */
  #issueTime(sub: string, now: number): number {
    const before = this.#notBefore?.(sub);
    return before === undefined ? now : Math.max(now, Math.ceil(before / 1000) * 1000);
  }

  /** The longest API token lifetime allowed: 24 h, or less if the keys allow less. */
  get maxLifetimeS(): number {
    return Math.min(API_TOKEN_MAX_LIFETIME_S, this.#keys.maxTokenLifetimeS);
  }

  /** A Bearer token for `user` on the instances of `scope` (or `["*"]`). */
  async apiToken(request: { sub: string; scope: string[]; lifetimeS?: number }, now: number): Promise<IssuedToken> {
    const lifetimeS = request.lifetimeS ?? Math.min(API_TOKEN_DEFAULT_LIFETIME_S, this.maxLifetimeS);
    if (!Number.isInteger(lifetimeS) || lifetimeS < 1 || lifetimeS > this.maxLifetimeS) {
      throw new ValidationError('lifetimeS', `must be a whole number of seconds from 1 to ${this.maxLifetimeS}`);
    }
    if (!Array.isArray(request.scope) || request.scope.length === 0) throw new ValidationError('scope', 'must name at least one instance, or "*"');
    request.scope.forEach((id, i) => {
      if (id !== '*') checkInstance(id, `scope[${i}]`);
    });
    checkSubject(request.sub);
    now = this.#issueTime(request.sub, now);
    const exp = Math.floor(now / 1000) + lifetimeS;
    const scope = [...new Set(request.scope)];
    const token = await this.#keys.sign({ sub: request.sub, scope, exp }, now);
    return { token, scope, expiresAt: exp * 1000 };
  }

  /** A one-time browser link to `instance` for `user`: the token in `?wharf_token=`, valid 60 s. */
  async browserLink(request: { sub: string; instance: string }, now: number): Promise<BrowserLink> {
    checkSubject(request.sub);
    now = this.#issueTime(request.sub, now);
    const base = appBaseUrl(request.instance, this.#hosts);
    const jti = randomBytes(16).toString('base64url'); // 128 bits: never guessed, never repeated
    const exp = Math.floor(now / 1000) + LINK_LIFETIME_S;
    const scope = [request.instance];
    const token = await this.#keys.sign({ sub: request.sub, scope, exp, jti }, now);
    const url = new URL(base);
    url.searchParams.set(LINK_PARAM, token);
    return { token, scope, jti, url: url.href, expiresAt: exp * 1000 };
  }
}

function checkInstance(id: string, field: string): void {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) throw new ValidationError(field, 'must be an instance id (a-z, 0-9 and inner dashes, at most 63)');
}

function checkSubject(sub: string): void {
  if (typeof sub !== 'string' || sub.length === 0) throw new ValidationError('sub', 'must name the user');
}

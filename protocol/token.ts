import { Type, type Static } from '@sinclair/typebox';

/** The audience every gateway token must name. */
export const TOKEN_AUDIENCE = 'wharf-gateway';
/**
 * The app-host cookie a one-time link is exchanged for (HttpOnly, Secure, Lax). The `__Host-`
 * prefix makes browsers keep it host-only with `Path=/`: a sibling app on the same apps domain
 * can neither set nor overwrite it (RFC 6265bis §4.1.3.2). No other name is ever read.
 */
export const SESSION_COOKIE = '__Host-wharf_session';
/**
 * The same cookie under path routing (`/app/<id>/`), where `__Host-` cannot be used (it needs
 * `Path=/`): apps then share one origin anyway, which is why path routing is off by default.
 */
export const PATH_SESSION_COOKIE = '__Secure-wharf_session';
/** The dashboard's own cookie on the main host; never sent on to an app. */
export const CONSOLE_COOKIE = 'wharf_console';
/** The query parameter of a one-time browser link. */
export const LINK_PARAM = 'wharf_token';

/** Claims of a token signed by control (EdDSA). Other registered claims (iat, iss) may appear. */
export const TokenClaims = Type.Object({
  sub: Type.String({ minLength: 1 }),
  aud: Type.Union([Type.String(), Type.Array(Type.String())]),
  scope: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  exp: Type.Number(),
  jti: Type.Optional(Type.String({ minLength: 8 })),
});
export type TokenClaims = Static<typeof TokenClaims>;

/**
 * Where a gateway claims a one-time link at control before exchanging it, with its gateway key
 * as `Authorization: Bearer` (as on the route stream). Body `LinkClaim`; 201 when this is the
 * link's first use, 409 `CTL_LINK_USED` when any gateway claimed it before. Control's store
 * keeps the used ids until the link has expired, across restarts and for every gateway.
 */
export const LINK_CLAIM_PATH = '/api/v1/gateways/links';
export const LinkClaim = Type.Object({
  jti: Type.String({ minLength: 8, maxLength: 256, description: 'the link token\'s jti (8 to 256 characters)' }),
  exp: Type.Integer({ minimum: 0, description: 'the link token\'s exp (Unix seconds)' }),
}, { additionalProperties: false });
export type LinkClaim = Static<typeof LinkClaim>;

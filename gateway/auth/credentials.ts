import { CONSOLE_COOKIE, LINK_PARAM, PATH_SESSION_COOKIE, SESSION_COOKIE } from '../../protocol/token.ts';

export { readCookie } from '../../protocol/cookies.ts';

/**
 * The Cookie header without Wharf's own cookies, which never reach an app; undefined when
 * nothing is left. The common case (no Wharf cookie) returns the header untouched.
 */
export function withoutWharfCookies(header: string): string | undefined {
  if (!header.includes('wharf_')) return header;
  const kept = header
    .split(';')
    .filter((part) => {
      const name = part.slice(0, part.indexOf('=') >>> 0).trim();
      return name !== SESSION_COOKIE && name !== PATH_SESSION_COOKIE && name !== CONSOLE_COOKIE;
    })
    .map((p) => p.trim())
    .filter(Boolean);
  return kept.length ? kept.join('; ') : undefined;
}

/** The token of `Authorization: Bearer <token>`, or undefined for any other scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return header.slice(7).trim() || undefined;
}

/** Splits a request target into its link token and the same target without it. */
export function takeLinkToken(url: string): { token: string | undefined; rest: string } | undefined {
  const q = url.indexOf('?');
  if (q < 0 || !url.includes(`${LINK_PARAM}=`, q)) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  const token = params.get(LINK_PARAM) ?? undefined;
  params.delete(LINK_PARAM);
  const query = params.toString();
  return { token, rest: url.slice(0, q) + (query ? `?${query}` : '') };
}

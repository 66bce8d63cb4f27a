import { readFileSync } from 'node:fs';
import { UsageError } from '../../protocol/settings.ts';
import type { ProjectRole } from '../store/store.ts';

/** Single sign-on as configured (WHARF_OIDC_*; docs/sso.md). */
export interface SsoConfig {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** Shown on the sign-in page: "Sign in with <name>". */
  name: string;
  scopes: string;
  /** The claim that lists the user's groups. */
  groupsClaim: string;
  /** Members of any of these are admins, others not; empty: admin is left to `wharf users`. */
  adminGroups: Set<string>;
  /** Group → the project memberships it gives. The projects named here take their SSO members from the IdP only. */
  projectGroups: Map<string, { project: string; role: ProjectRole }[]>;
}

const ROLES = new Set<ProjectRole>(['viewer', 'user', 'owner']);

/** `a, b c` → {a, b, c}: a list of group names, by commas or spaces. */
export function parseGroupList(raw: string): Set<string> {
  return new Set(raw.split(/[\s,]+/).filter(Boolean));
}

/**
 * `GROUP=PROJECT:ROLE` pairs separated by commas, e.g. `ml-team=ml:user, ml-leads=ml:owner`
 * (a project name may hold spaces; the role follows its last colon).
 */
export function parseProjectGroups(raw: string): Map<string, { project: string; role: ProjectRole }[]> {
  const map = new Map<string, { project: string; role: ProjectRole }[]>();
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    const colon = item.lastIndexOf(':');
    const group = item.slice(0, eq).trim();
    const project = item.slice(eq + 1, colon).trim();
    const role = item.slice(colon + 1).trim() as ProjectRole;
    if (eq < 1 || colon < eq + 2 || !group || !project || !ROLES.has(role)) {
      throw new Error(`"${item}" must be GROUP=PROJECT:ROLE with ROLE viewer, user or owner, e.g. ml-team=ml:user`);
    }
    map.set(group, [...(map.get(group) ?? []), { project, role }]);
  }
  return map;
}

export interface SsoSettings {
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  oidcClientSecretFile?: string;
  oidcName?: string;
  oidcScopes: string;
  oidcGroupsClaim: string;
  oidcAdminGroups: string;
  oidcProjectGroups: string;
}

/** The SSO configuration of control's settings, or undefined when no issuer is set; throws a UsageError naming what is missing. */
export function ssoConfig(s: SsoSettings): SsoConfig | undefined {
  if (!s.oidcIssuer) {
    if (s.oidcClientId) throw new UsageError('--oidc-client-id (WHARF_OIDC_CLIENT_ID) is set without --oidc-issuer (WHARF_OIDC_ISSUER)');
    return undefined;
  }
  let issuer: URL;
  try {
    issuer = new URL(s.oidcIssuer);
  } catch {
    throw new UsageError(`--oidc-issuer (WHARF_OIDC_ISSUER) must be the identity provider's URL, got "${s.oidcIssuer}"`);
  }
  if (issuer.protocol !== 'https:') throw new UsageError(`--oidc-issuer (WHARF_OIDC_ISSUER) must be an https: URL, got "${s.oidcIssuer}"`);
  if (!s.oidcClientId) throw new UsageError('--oidc-client-id (WHARF_OIDC_CLIENT_ID) is required with --oidc-issuer');
  let secret = s.oidcClientSecret;
  if (s.oidcClientSecretFile) {
    if (secret) throw new UsageError('set --oidc-client-secret or --oidc-client-secret-file, not both');
    try {
      secret = readFileSync(s.oidcClientSecretFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--oidc-client-secret-file (WHARF_OIDC_CLIENT_SECRET_FILE): cannot read ${s.oidcClientSecretFile}: ${(err as Error).message}`);
    }
  }
  if (!secret) throw new UsageError('--oidc-client-secret or --oidc-client-secret-file (WHARF_OIDC_CLIENT_SECRET[_FILE]) is required with --oidc-issuer');
  let projectGroups;
  try {
    projectGroups = parseProjectGroups(s.oidcProjectGroups);
  } catch (err) {
    throw new UsageError(`--oidc-project-groups (WHARF_OIDC_PROJECT_GROUPS): ${(err as Error).message}`);
  }
  const scopes = s.oidcScopes.split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) throw new UsageError(`--oidc-scopes (WHARF_OIDC_SCOPES) must include openid, got "${s.oidcScopes}"`);
  return {
    issuer,
    clientId: s.oidcClientId,
    clientSecret: secret,
    name: s.oidcName || issuer.hostname,
    scopes: scopes.join(' '),
    groupsClaim: s.oidcGroupsClaim,
    adminGroups: parseGroupList(s.oidcAdminGroups),
    projectGroups,
  };
}

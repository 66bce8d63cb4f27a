/*
 * The dashboard's addresses. Control serves the same shell for each of them (control/api/
 * dashboard.ts, SHELL_PATHS), so a reload, a bookmark or sign-in's return lands on the page.
 * Pure: tested in router.test.ts.
 */

export type PageName = 'instances' | 'instance' | 'apps' | 'launch' | 'projects' | 'account' | 'users' | 'agents' | 'audit';

interface RouteDef { name: PageName; pattern: RegExp; keys: string[]; admin?: boolean }

const ID = '([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)';

export const ROUTES: RouteDef[] = [
  { name: 'instances', pattern: /^\/$/, keys: [] },
  { name: 'instance', pattern: new RegExp(`^/instances/${ID}$`), keys: ['id'] },
  { name: 'apps', pattern: /^\/apps$/, keys: [] },
  { name: 'launch', pattern: /^\/launch$/, keys: [] },
  { name: 'projects', pattern: /^\/projects$/, keys: [] },
  { name: 'account', pattern: /^\/account$/, keys: [] },
  { name: 'users', pattern: /^\/users$/, keys: [], admin: true },
  { name: 'agents', pattern: /^\/agents$/, keys: [], admin: true },
  // A project's owners read its entries too (?project=); control answers who may read what.
  { name: 'audit', pattern: /^\/audit$/, keys: [] },
];

export interface Match { name: PageName; params: Record<string, string>; admin: boolean }

/** The page a path names, or undefined. A trailing slash is ignored (`/apps/` is `/apps`). */
export function matchRoute(pathname: string): Match | undefined {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => { params[k] = m[i + 1]; });
    return { name: r.name, params, admin: r.admin ?? false };
  }
  return undefined;
}

/** The nav section a page belongs to (an instance's page is under Instances, the form under Apps). */
export function section(name: PageName): PageName {
  if (name === 'instance') return 'instances';
  if (name === 'launch') return 'apps';
  return name;
}

/*
 * The instance list's filters: the same names as the API's query (`status`, `project`, `tag`,
 * `queue`, `owner`), kept in the page's address so a filtered list can be bookmarked and shared.
 * Pure: tested in list-filters.test.ts.
 */

export const FILTER_KEYS = ['status', 'project', 'tag', 'queue', 'owner'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** The status choices: "running" groups what still costs resources. */
export const STATUS_CHOICES: { value: string; label: string }[] = [
  { value: '', label: 'Any status' },
  { value: 'queued,starting,active,idle,stopping', label: 'Running or waiting' },
  { value: 'starting', label: 'Setting up' },
  { value: 'active', label: 'Active' },
  { value: 'idle', label: 'Idle' },
  { value: 'stopped', label: 'Stopped' },
  { value: 'failed', label: 'Failed' },
];

/** The filters a query names: known keys with a non-blank value, trimmed; `owner` for admins only. */
export function readFilters(query: URLSearchParams, admin: boolean): Partial<Record<FilterKey, string>> {
  const out: Partial<Record<FilterKey, string>> = {};
  for (const key of FILTER_KEYS) {
    if (key === 'owner' && !admin) continue;
    const value = query.get(key)?.trim();
    if (value) out[key] = value;
  }
  return out;
}

/** `?status=…&project=…` (empty when no filter is set), in FILTER_KEYS order. */
export function filterQuery(filters: Partial<Record<FilterKey, string>>): string {
  const q = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) q.set(key, filters[key]);
  const text = q.toString();
  return text ? `?${text}` : '';
}

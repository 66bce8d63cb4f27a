import { isIP } from 'node:net';

/**
 * Whether two host names appear to be one *site* to a browser (same registrable domain), so
 * that cookies and Fetch Metadata treat requests between them as same-site.
 *
 * An approximation for a start-up warning, not a security check: without the Public Suffix
 * List, a shared suffix of two labels or more counts as one site (`apps.example.com` and
 * `example.com`), a single label does not (`apps.localhost` and `localhost` are two sites,
 * as browsers see them: `localhost` is a suffix of its own). So `example.co.uk` pairs may be
 * reported falsely, which costs a log line.
 */
export function sameSite(a: string, b: string): boolean {
  a = a.toLowerCase().replace(/\.$/, '');
  b = b.toLowerCase().replace(/\.$/, '');
  if (isIP(a.replace(/^\[|\]$/g, '')) || isIP(b.replace(/^\[|\]$/g, ''))) return a === b;
  const x = a.split('.').reverse();
  const y = b.split('.').reverse();
  let shared = 0;
  while (shared < x.length && shared < y.length && x[shared] === y[shared]) shared++;
  return shared >= 2;
}

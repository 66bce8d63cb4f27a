import { AUDIT_ACTIONS as RECORDED } from '../../../control/audit/audit-log.ts';
import type { AuditEntryView } from '../../../control/api/audit.ts';

/*
 * Pure helpers for the audit page: its filters (the API's own query names, kept in the page's
 * address so a filtered log can be bookmarked and shared), an entry's time and its detail as
 * text. No DOM, no clock; tested in audit-format.test.ts.
 */

/** control's audit entry view; `actor` is null when anonymous. */
export type AuditRow = AuditEntryView;

/** One page of the log, newest first; `next` goes in `before` for the older page, null at the end. */
export interface AuditPage {
  entries: AuditRow[];
  next: string | null;
}

/** The actions control records: suggestions for the filter (control refuses any other). */
export const AUDIT_ACTIONS = Object.keys(RECORDED);

export const AUDIT_FILTER_KEYS = ['user', 'instance', 'action', 'project'] as const;
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number];
export type AuditFilters = Partial<Record<AuditFilterKey, string>>;

/** The filters a query names: known keys with a non-blank value, trimmed. */
export function readAuditFilters(query: URLSearchParams): AuditFilters {
  const out: AuditFilters = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = query.get(key)?.trim();
    if (value) out[key] = value;
  }
  return out;
}

/**
 * `?user=…&action=…` in AUDIT_FILTER_KEYS order (empty when nothing is set): the page's address,
 * and with `before` the API's query for an older page.
 */
export function auditQuery(filters: AuditFilters, before?: string | null): string {
  const q = new URLSearchParams();
  for (const key of AUDIT_FILTER_KEYS) if (filters[key]) q.set(key, filters[key]);
  if (before) q.set('before', before);
  const text = q.toString();
  return text ? `?${text}` : '';
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * `2026-01-02 03:04:05` in the browser's time zone: a log is read by exact time and compared
 * line to line, which "5m ago" does not allow (the ISO time stays in the title).
 */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * An entry's detail as `key=value` pairs separated by spaces, in control's order. A string that
 * is empty or holds a space, quote or `=` is quoted (JSON), so each pair still reads as one.
 */
export function detailText(detail: Record<string, string | number | boolean>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${typeof value === 'string' && (value === '' || /[\s"'=]/.test(value)) ? JSON.stringify(value) : String(value)}`)
    .join(' ');
}

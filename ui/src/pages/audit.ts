import { api, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { AUDIT_ACTIONS, AUDIT_FILTER_KEYS, auditQuery, detailText, localTime, readAuditFilters, type AuditFilterKey, type AuditFilters, type AuditPage, type AuditRow } from '../admin/audit-format.ts';
import { errorLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';

/*
 * The audit log (GET /api/v1/audit), newest first, one page at a time: all of it for admins, a
 * project's entries (?project=, linked from the Projects page) for its owners too. The
 * filters are the API's own query names, kept in the page's address like the instance list's;
 * "Older entries" appends the next page (`before` = the last answer's `next`), so the entries
 * read so far stay in place. The log only grows at its top: there is nothing to poll for.
 */

const COLUMNS = ['Time', 'Actor', 'Action', 'Target', 'Instance', 'Detail'] as const;

const none = (text: string, label?: string) => h('span', { class: 'none', 'aria-label': label }, text);

function rowOf(e: AuditRow): HTMLTableRowElement {
  const detail = detailText(e.detail);
  return h('tr', { 'data-seq': e.seq, 'data-action': e.action },
    h('td', { class: 'num' }, h('time', { datetime: e.at, title: e.at }, localTime(e.at))),
    // No actor: control knew no one behind the request (an anonymous one).
    h('td', {}, e.actor ?? none('anonymous')),
    h('th', { scope: 'row' }, h('code', {}, e.action)),
    h('td', {}, e.target ?? none('—', 'none')),
    h('td', {}, e.instance ? h('a', { href: `/instances/${encodeURIComponent(e.instance)}` }, e.instance) : none('—', 'none')),
    h('td', { class: 'detail' }, detail ? h('code', {}, detail) : none('—', 'none')));
}

function filterForm(ctx: PageContext, current: AuditFilters): HTMLFormElement {
  const text = (key: AuditFilterKey, label: string, extra: Record<string, string> = {}) => h('div', { class: 'filter' },
    h('label', { for: `audit-filter-${key}` }, label),
    h('input', { id: `audit-filter-${key}`, name: key, type: 'search', value: current[key] ?? '', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', ...extra }));
  // Suggestions, not a <select>: control answers which actions it knows if one is mistyped.
  const actions = h('datalist', { id: 'audit-actions' }, ...AUDIT_ACTIONS.map((a) => h('option', { value: a })));
  const form = h('form', { id: 'audit-filters', class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    text('user', 'User'), text('instance', 'Instance'), text('action', 'Action', { list: 'audit-actions' }), actions, text('project', 'Project'),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit' }, 'Filter'), h('button', { type: 'reset' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const values: AuditFilters = {};
    for (const key of AUDIT_FILTER_KEYS) values[key] = String(data.get(key) ?? '').trim();
    ctx.go(`/audit${auditQuery(values)}`);
  });
  form.addEventListener('reset', (e) => { e.preventDefault(); ctx.go('/audit'); });
  return form;
}

export function auditPage(ctx: PageContext): () => void {
  const { view } = ctx;
  ctx.title('Audit');
  const filters = readAuditFilters(ctx.query);
  const filtered = Object.keys(filters).length > 0;
  const body = h('tbody');
  const table = h('table', { id: 'audit', 'aria-busy': 'true' },
    h('caption', { id: 'audit-caption' }, filtered ? 'Audit entries matching the filters, newest first' : 'What was done in this Wharf, and by whom, newest first'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const error = errorLine('audit-error');
  const older = h('button', { type: 'button', id: 'audit-older', hidden: true }, 'Older entries');
  view.replaceChildren(filterForm(ctx, filters), error, tableRegion(table, 'audit-caption'), h('p', { class: 'audit-more' }, older));

  /** The cursor for the next (older) page; null once the oldest entry is shown. */
  let next: string | null = null;
  let left = false;
  /** A page is on its way: another click on Older waits for it (disabling the button would drop its focus). */
  let loading = false;

  const load = async (before: string | null) => {
    if (loading) return;
    loading = true;
    const hadFocus = document.activeElement === older;
    table.setAttribute('aria-busy', 'true');
    error.textContent = '';
    try {
      const page = await api<AuditPage>(`/api/v1/audit${auditQuery(filters, before)}`);
      if (left) return;
      next = page.next;
      const rows = page.entries.map(rowOf);
      if (before) body.append(...rows);
      else body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, filtered ? 'No entry matches these filters.' : 'Nothing recorded yet.'))]));
    } catch (err) {
      if (left || err instanceof SignedOut) return;
      error.textContent = `Cannot load the audit log: ${errorText(err)}`;
    } finally {
      loading = false;
      table.setAttribute('aria-busy', 'false');
      older.hidden = next === null;
      // The oldest page is in: the button goes, and the keyboard stays with the table.
      if (hadFocus && older.hidden) view.querySelector<HTMLElement>('.table-wrap')?.focus();
    }
  };

  older.addEventListener('click', () => { if (next) void load(next); });
  void load(null);
  return () => { left = true; };
}

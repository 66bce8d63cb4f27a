import { h } from '../dom.ts';
import { age, duration, statusDisplay, type InstanceRow, type StatusDisplay } from '../format.ts';
import { FILTER_KEYS, filterQuery, readFilters, STATUS_CHOICES, type FilterKey } from '../list-filters.ts';
import { follow } from '../live.ts';
import type { PageContext } from '../page.ts';

/*
 * The instance list: filters, then one <table> kept live by control's `instances` events
 * (GET /api/v1/instances?follow=1 with the filters). Rows are rebuilt only when the answer
 * changed, so screen readers and text selection are left alone between changes; ages tick
 * every second on their own.
 */

/** A shape as well as a colour, so that the status reads without colour too; the words follow it. */
export const STATUS_ICONS: Record<StatusDisplay['kind'], string> = {
  queued: '○', starting: '◔', active: '●', idle: '◑', stopping: '◕', stopped: '■', failed: '✕', offline: '⚠',
};

const COLUMNS = ['Status', 'Name', 'App', 'Project', 'Tags', 'Queue', 'Owner', 'Idle', 'Age'] as const;

export function statusBadge(row: Pick<InstanceRow, 'status' | 'statusReason'>): HTMLElement {
  const s = statusDisplay(row);
  return h('span', { class: `status status-${s.kind}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, STATUS_ICONS[s.kind]), ' ', s.label);
}

function rowOf(row: InstanceRow, now: number): HTMLTableRowElement {
  const s = statusDisplay(row);
  return h('tr', { 'data-id': row.id },
    h('td', { 'data-status': s.kind }, statusBadge(row), s.detail ? h('span', { class: 'reason' }, s.detail) : null),
    h('th', { scope: 'row' }, h('a', { class: 'name', href: `/instances/${row.id}` }, row.name || row.id), h('span', { class: 'id' }, row.id)),
    h('td', {}, row.app),
    h('td', {}, row.project),
    h('td', {}, row.tags.length ? h('ul', { class: 'tags' }, ...row.tags.map((t) => h('li', {}, t))) : h('span', { class: 'none' }, '—')),
    h('td', {}, row.queue),
    h('td', {}, row.owner),
    h('td', { class: 'num' }, row.idleSeconds === null ? h('span', { class: 'none', 'aria-label': 'not applicable' }, '—') : duration(row.idleSeconds)),
    h('td', { class: 'num' }, h('time', { datetime: row.created, title: row.created }, age(row.created, now))));
}

function filterForm(ctx: PageContext, current: Partial<Record<FilterKey, string>>): HTMLFormElement {
  const text = (key: FilterKey, label: string) => h('div', { class: 'filter' },
    h('label', { for: `filter-${key}` }, label),
    h('input', { id: `filter-${key}`, name: key, type: 'search', value: current[key] ?? '', autocomplete: 'off', spellcheck: 'false' }));
  const status = h('select', { id: 'filter-status', name: 'status' },
    ...STATUS_CHOICES.map((c) => h('option', { value: c.value, selected: (current.status ?? '') === c.value }, c.label)));
  const form = h('form', { id: 'filters', class: 'filters', role: 'search', 'aria-label': 'Filter instances' },
    h('div', { class: 'filter' }, h('label', { for: 'filter-status' }, 'Status'), status),
    text('project', 'Project'), text('tag', 'Tag'), text('queue', 'Queue'),
    ctx.me.admin ? text('owner', 'Owner') : null,
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit' }, 'Filter'), h('button', { type: 'reset' }, 'Clear')));
  const apply = () => {
    const values: Partial<Record<FilterKey, string>> = {};
    const data = new FormData(form);
    for (const key of FILTER_KEYS) values[key] = String(data.get(key) ?? '').trim();
    ctx.go(`/${filterQuery(values)}`);
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  // The status choice applies at once; text filters on Enter or the button.
  status.addEventListener('change', apply);
  form.addEventListener('reset', (e) => { e.preventDefault(); ctx.go('/'); });
  return form;
}

export function instancesPage(ctx: PageContext): () => void {
  const { view, notice } = ctx;
  ctx.title('Instances');
  const filters = readFilters(ctx.query, ctx.me.admin);
  const filtered = Object.keys(filters).length > 0;
  const body = h('tbody');
  const count = h('span', { id: 'instances-count' });
  const table = h('table', { id: 'instances', 'aria-busy': 'true' },
    h('caption', { id: 'instances-caption' }, filtered ? 'Instances matching the filters, updated live' : 'Instances you can see, updated live', ' ', count),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body);
  view.append(
    h('p', { class: 'page-actions' }, h('a', { class: 'button primary', href: '/apps' }, 'Launch an app')),
    filterForm(ctx, filters),
    // Narrow screens scroll the table sideways; the region is focusable so keyboards can scroll it.
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'instances-caption', tabindex: 0 }, table));

  let last = '';
  const render = (rows: InstanceRow[]) => {
    const now = Date.now();
    count.textContent = `(${rows.length})`;
    body.replaceChildren(...(rows.length
      ? rows.map((r) => rowOf(r, now))
      : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' },
        filtered ? 'No instance matches these filters.' : h('span', {}, 'No instances yet. ', h('a', { href: '/apps' }, 'Launch one'), ', or run ', h('code', {}, 'wharf launch -f config.json'), '.')))]));
    table.setAttribute('aria-busy', 'false');
  };
  const query = filterQuery(filters);
  const live = follow(`/api/v1/instances${query ? `${query}&` : '?'}follow=1`, {
    instances: (data) => {
      const rows = (data as { instances: InstanceRow[] }).instances;
      const text = JSON.stringify(rows);
      if (text !== last) render(rows);
      last = text;
    },
  }, (trouble) => { notice.textContent = trouble ?? ''; });

  /** Ages move although nothing else did: rewrite their text only. */
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const time of body.querySelectorAll('time')) {
      const text = age(time.dateTime, now);
      if (time.textContent !== text) time.textContent = text;
    }
  }, 1_000);
  return () => { live.close(); clearInterval(ticker); };
}

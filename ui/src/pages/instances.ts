import { keepFocus } from '../admin/ui.ts';
import { h } from '../dom.ts';
import { age, duration, statusDisplay, type InstanceRow } from '../format.ts';
import { idleSecondsNow } from '../instance/view.ts';
import { FILTER_KEYS, filterQuery, readFilters, STATUS_CHOICES, type FilterKey } from '../list-filters.ts';
import { follow } from '../live.ts';
import type { PageContext } from '../page.ts';
import { statusBadge } from '../status-badge.ts';
import { tableRegion } from '../table-region.ts';

/*
 * The instance list: filters, then one <table> kept live by control's `instances` events
 * (GET /api/v1/instances?follow=1 with the filters). Control sends an event only when something
 * other than the clock changed; then only the rows that changed are replaced, so focus, text
 * selection and screen readers' place are left alone elsewhere. Idle times and ages tick every
 * second on their own.
 */

const COLUMNS = ['Status', 'Name', 'App', 'Project', 'Tags', 'Queue', 'Owner', 'Idle', 'Age'] as const;

/** A row on the page: what it shows less the clock (`key`), and the idle clock it ticks from. */
interface Shown {
  key: string;
  tr: HTMLTableRowElement;
  row: InstanceRow;
  idleCell: HTMLTableCellElement;
}

/**
 * What a row shows, less what moves with the clock: the idle time is ticked in place (only
 * whether there is one is shown otherwise), and fields the list does not show (the idle
 * warning's seconds left) must not make every row new on every event.
 */
function rowKey(r: InstanceRow): string {
  return JSON.stringify([r.status, r.statusReason, r.name, r.app, r.project, r.tags, r.queue, r.owner, r.created, r.idleSeconds === null, r.idleSince]);
}

/** The Idle cell's text `elapsedMs` after the row arrived; null: not running. */
function idleText(row: InstanceRow, elapsedMs: number): string | null {
  const s = idleSecondsNow(row, elapsedMs);
  return s === null ? null : duration(s);
}

function rowOf(row: InstanceRow, now: number): Shown {
  const s = statusDisplay(row);
  const idle = idleText(row, 0);
  const idleCell = h('td', { class: 'num' }, idle === null ? h('span', { class: 'none', 'aria-label': 'not applicable' }, '—') : idle);
  const tr = h('tr', { 'data-id': row.id },
    h('td', { 'data-status': s.kind }, statusBadge(s), s.detail ? h('span', { class: 'reason' }, s.detail) : null),
    // data-focus: keyboard focus comes back to the link after its row is replaced (keepFocus).
    h('th', { scope: 'row' }, h('a', { class: 'name', href: `/instances/${row.id}`, 'data-focus': `instance-${row.id}` }, row.name || row.id), h('span', { class: 'id' }, row.id)),
    h('td', {}, row.app),
    h('td', {}, row.project),
    h('td', {}, row.tags.length ? h('ul', { class: 'tags' }, ...row.tags.map((t) => h('li', {}, t))) : h('span', { class: 'none' }, '—')),
    h('td', {}, row.queue),
    h('td', {}, row.owner),
    idleCell,
    h('td', { class: 'num' }, h('time', { datetime: row.created, title: row.created }, age(row.created, now))));
  return { key: rowKey(row), tr, row, idleCell };
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
  // Every filter, the status too, applies on Enter or the Filter button: applying on `change`
  // would move to a new page (and focus to <main>) at each arrow key in the list of statuses.
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  // Enter submits from a text field by itself, not from a <select>.
  status.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
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
    tableRegion(table, 'instances-caption'));

  /** The rows shown, by id, in the order shown; empty while the empty-state row is. */
  let shown = new Map<string, Shown>();
  /** When the last answer arrived: the idle times it gave were true then. */
  let receivedAt = 0;

  const render = (rows: InstanceRow[]) => {
    const now = Date.now();
    receivedAt = now;
    const text = `(${rows.length})`;
    if (count.textContent !== text) count.textContent = text;
    keepFocus(body, () => {
      const ids = [...shown.keys()];
      const same = rows.length > 0 && rows.length === ids.length && rows.every((r, i) => ids[i] === r.id);
      if (same) {
        // The same instances in the same order: replace only the rows that changed.
        for (const r of rows) {
          const old = shown.get(r.id)!;
          old.row = r;
          const key = rowKey(r);
          if (key === old.key) continue;
          const next = rowOf(r, now);
          old.tr.replaceWith(next.tr);
          shown.set(r.id, next);
        }
        return;
      }
      shown = new Map(rows.map((r) => [r.id, rowOf(r, now)]));
      body.replaceChildren(...(rows.length
        ? [...shown.values()].map((s) => s.tr)
        : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' },
          filtered ? 'No instance matches these filters.' : h('span', {}, 'No instances yet. ', h('a', { href: '/apps' }, 'Launch one'), ', or run ', h('code', {}, 'wharf launch -f config.json'), '.')))]));
    });
    tick();
    table.setAttribute('aria-busy', 'false');
  };

  /** Idle times and ages move although nothing else did: rewrite their text only. */
  const tick = () => {
    const now = Date.now();
    for (const s of shown.values()) {
      const idle = idleText(s.row, now - receivedAt);
      if (idle !== null && s.idleCell.textContent !== idle) s.idleCell.textContent = idle;
    }
    for (const time of body.querySelectorAll('time')) {
      const text = age(time.dateTime, now);
      if (time.textContent !== text) time.textContent = text;
    }
  };

  const query = filterQuery(filters);
  const live = follow(`/api/v1/instances${query ? `${query}&` : '?'}follow=1`, {
    instances: (data) => render((data as { instances: InstanceRow[] }).instances),
  }, (trouble) => { notice.textContent = trouble ?? ''; }, {
    // A filter control refuses (too long, say): the list is not coming, so it is not busy.
    onRefused: () => table.setAttribute('aria-busy', 'false'),
  });

  const ticker = setInterval(tick, 1_000);
  return () => { live.close(); clearInterval(ticker); };
}

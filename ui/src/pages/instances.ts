import { confirmAction, keepFocus } from '../admin/ui.ts';
import { api, errorText, SignedOut } from '../api.ts';
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
 *
 * Without a status filter the list holds every instance still running or waiting and only the
 * FINISHED_SHOWN newest stopped or failed ones (`finishedLimit`), so that it stays readable after
 * weeks of use; "Show all" (`?all=1`) lifts that, and Remove takes a finished one away for good.
 */

const COLUMNS = ['Status', 'Name', 'App', 'Project', 'Tags', 'Queue', 'Owner', 'No activity for', 'Age', 'Actions'] as const;

/** Stopped or failed instances listed without a status filter or "Show all": the newest. */
const FINISHED_SHOWN = 20;

const finished = (row: InstanceRow) => row.status === 'stopped' || row.status === 'failed';

/** What a row says of its status: a failure's reason, and why a queued one waits ("no agent serves queue gpu"). */
function statusDetail(row: InstanceRow): string | null {
  return statusDisplay(row).detail ?? (row.status === 'queued' ? row.statusReason : null);
}

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

/** The "No activity for" cell's text (the idle clock: how long the app has been quiet) `elapsedMs` after the row arrived; null: not running. */
function idleText(row: InstanceRow, elapsedMs: number): string | null {
  const s = idleSecondsNow(row, elapsedMs);
  return s === null ? null : duration(s);
}

function rowOf(row: InstanceRow, now: number): Shown {
  const s = statusDisplay(row);
  const detail = statusDetail(row);
  const idle = idleText(row, 0);
  const idleCell = h('td', { class: 'num' }, idle === null ? h('span', { class: 'none', 'aria-label': 'not applicable' }, '—') : idle);
  const tr = h('tr', { 'data-id': row.id },
    h('td', { 'data-status': s.kind }, statusBadge(s), detail ? h('span', { class: 'reason' }, detail) : null),
    // data-focus: keyboard focus comes back to the link after its row is replaced (keepFocus).
    h('th', { scope: 'row' }, h('a', { class: 'name', href: `/instances/${row.id}`, 'data-focus': `instance-${row.id}` }, row.name || row.id), h('span', { class: 'id' }, row.id)),
    h('td', {}, row.app),
    h('td', {}, row.project),
    h('td', {}, row.tags.length ? h('ul', { class: 'tags' }, ...row.tags.map((t) => h('li', {}, t))) : h('span', { class: 'none' }, '—')),
    h('td', {}, row.queue),
    h('td', {}, row.owner),
    idleCell,
    h('td', { class: 'num' }, h('time', { datetime: row.created, title: row.created }, age(row.created, now))),
    h('td', {}, finished(row)
      ? h('button', { type: 'button', class: 'remove', 'data-remove': row.id, 'data-focus': `remove-${row.id}`, 'aria-label': `Remove ${row.name || row.id}` }, 'Remove')
      : null));
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
  // A status filter asks for exactly those; otherwise the old stopped ones wait behind "Show all".
  const capped = filters.status === undefined && ctx.query.get('all') !== '1';
  const query = filterQuery(filters);
  const leftOut = h('p', { id: 'instances-left-out', class: 'hint', hidden: true });
  const body = h('tbody');
  const count = h('span', { id: 'instances-count' });
  const table = h('table', { id: 'instances', 'aria-busy': 'true' },
    h('caption', { id: 'instances-caption' }, filtered ? 'Instances matching the filters, updated live' : 'Instances you can see, updated live', ' ', count),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body);
  view.append(
    h('p', { class: 'page-actions' }, h('a', { class: 'button primary', href: '/apps' }, 'Launch an app')),
    filterForm(ctx, filters),
    tableRegion(table, 'instances-caption'),
    leftOut);

  const showLeftOut = (n: number) => {
    leftOut.hidden = n === 0;
    if (n === 0) return;
    const text = `${n} older stopped or failed instance${n === 1 ? ' is' : 's are'} not shown. `;
    if (leftOut.firstChild?.textContent === text) return;
    leftOut.replaceChildren(text, h('a', { href: `/${query ? `${query}&` : '?'}all=1`, id: 'show-all' }, 'Show all'));
  };

  // Remove: a finished instance leaves the list for good, its snapshots kept (so Clone still works).
  body.addEventListener('click', async (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-remove]');
    if (!button || button.disabled) return;
    const id = button.dataset.remove!;
    const row = shown.get(id)?.row;
    const what = row?.name ? `${row.name} (${id})` : id;
    const yes = await confirmAction(view, {
      title: 'Remove this instance?',
      message: `Wharf forgets ${what}: it leaves the lists, with its console and metrics. Its workspace snapshots are kept, so a clone of it can still start where it stopped.`,
      confirm: 'Remove instance',
    });
    if (!yes || !button.isConnected) return;
    button.disabled = true;
    try {
      await api(`/api/v1/instances/${encodeURIComponent(id)}`, { method: 'DELETE' });
      notice.textContent = `Removed ${what}.`;
      // Gone at once; the next event agrees. Focus goes to the next row, else the launch link.
      const tr = shown.get(id)?.tr;
      const next = tr?.nextElementSibling?.querySelector<HTMLElement>('a.name') ?? view.querySelector<HTMLElement>('.page-actions a');
      shown.delete(id);
      tr?.remove();
      next?.focus();
    } catch (err) {
      if (err instanceof SignedOut) return;
      notice.textContent = `Cannot remove ${what}: ${errorText(err)}`;
      button.disabled = false;
    }
  });

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

  const live = follow(`/api/v1/instances${query ? `${query}&` : '?'}${capped ? `finishedLimit=${FINISHED_SHOWN}&` : ''}follow=1`, {
    instances: (data) => {
      const answer = data as { instances: InstanceRow[]; finishedLeftOut?: number };
      render(answer.instances);
      showLeftOut(answer.finishedLeftOut ?? 0);
    },
  }, (trouble) => { notice.textContent = trouble ?? ''; }, {
    // A filter control refuses (too long, say): the list is not coming, so it is not busy.
    onRefused: () => table.setAttribute('aria-busy', 'false'),
  });

  const ticker = setInterval(tick, 1_000);
  return () => { live.close(); clearInterval(ticker); };
}

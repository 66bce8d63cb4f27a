import { api, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { age, duration, statusDisplay, type InstanceRow, type StatusDisplay } from '../format.ts';

/*
 * The instance list: one <table>, refreshed every POLL_MS without reloading the page. Rows are
 * rebuilt only when the answer changed, so screen readers and text selection are left alone
 * between changes. (Server-sent events replace polling once control streams instance changes.)
 */

const POLL_MS = 2_000;

/** A shape as well as a colour, so that the status reads without colour too; the words follow it. */
const ICONS: Record<StatusDisplay['kind'], string> = {
  queued: '○', starting: '◔', active: '●', idle: '◑', stopping: '◕', stopped: '■', failed: '✕', offline: '⚠',
};

const COLUMNS = ['Status', 'Name', 'App', 'Project', 'Tags', 'Queue', 'Owner', 'Idle', 'Age'] as const;

function statusCell(row: InstanceRow): HTMLTableCellElement {
  const s = statusDisplay(row);
  return h('td', { 'data-status': s.kind },
    h('span', { class: `status status-${s.kind}` },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, ICONS[s.kind]), ' ', s.label),
    s.detail ? h('span', { class: 'reason' }, s.detail) : null);
}

function rowOf(row: InstanceRow, now: number): HTMLTableRowElement {
  return h('tr', { 'data-id': row.id },
    statusCell(row),
    h('th', { scope: 'row' }, h('span', { class: 'name' }, row.name), h('span', { class: 'id' }, row.id)),
    h('td', {}, row.app),
    h('td', {}, row.project),
    h('td', {}, row.tags.length ? h('ul', { class: 'tags' }, ...row.tags.map((t) => h('li', {}, t))) : h('span', { class: 'none' }, '—')),
    h('td', {}, row.queue),
    h('td', {}, row.owner),
    h('td', { class: 'num' }, row.idleSeconds === null ? h('span', { class: 'none', 'aria-label': 'not applicable' }, '—') : duration(row.idleSeconds)),
    h('td', { class: 'num' }, h('time', { datetime: row.created, title: row.created }, age(row.created, now))));
}

export function instancesPage(ctx: PageContext): () => void {
  const { view, notice } = ctx;
  ctx.title('Instances');
  const body = h('tbody');
  const table = h('table', { id: 'instances' },
    h('caption', { id: 'instances-caption' }, 'Instances you can see, updated live'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body);
  // Narrow screens scroll the table sideways; the region is focusable so keyboards can scroll it.
  view.replaceChildren(h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'instances-caption', tabindex: 0 }, table));

  let last = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const render = (rows: InstanceRow[]) => {
    const now = Date.now();
    last = JSON.stringify(rows);
    body.replaceChildren(...(rows.length
      ? rows.map((r) => rowOf(r, now))
      : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'No instances yet. Launch one with ', h('code', {}, 'wharf launch -f config.json'), '.'))]));
    table.setAttribute('aria-busy', 'false');
  };

  /** Ages move although nothing else did: rewrite their text only. */
  const tickAges = () => {
    const now = Date.now();
    for (const time of body.querySelectorAll('time')) {
      const text = age(time.dateTime, now);
      if (time.textContent !== text) time.textContent = text;
    }
  };

  const poll = async () => {
    try {
      const { instances } = await api<{ instances: InstanceRow[] }>('/api/v1/instances');
      notice.textContent = '';
      if (JSON.stringify(instances) !== last) render(instances);
      else tickAges();
    } catch (err) {
      if (err instanceof SignedOut) return;
      notice.textContent = `Cannot refresh the list (${err instanceof Error ? err.message : String(err)}); retrying.`;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  table.setAttribute('aria-busy', 'true');
  void poll();
  return () => { stopped = true; clearTimeout(timer); };
}

import { api, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import { statusWord } from '../format.ts';
import type { PageContext } from '../page.ts';
import { agentState, ago, drainState, hostResources, type AgentRow } from '../admin/format.ts';
import { confirmAction, errorLine, keepFocus, statusLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';

/*
 * Admins only: every agent with its state, queues, host resources (from its last heartbeat),
 * the apps it runs, and a Drain button (Resume once drained). Refreshed every POLL_MS; rows
 * are rebuilt only when the answer changed, and keyboard focus stays on the same button
 * across a rebuild.
 */

const POLL_MS = 5_000;

const COLUMNS = ['Agent', 'State', 'Queues', 'Memory', 'CPU', 'Disk', 'Apps', 'Last seen', 'Drain'] as const;

const unknown = () => h('span', { class: 'none' }, 'not reported');

export function agentsPage(ctx: PageContext): () => void {
  const { view, notice } = ctx;
  ctx.title('Agents');
  const body = h('tbody');
  const table = h('table', { id: 'agents' },
    h('caption', { id: 'agents-caption' }, 'Agents and their hosts, updated every 5 seconds'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const error = errorLine('agents-error');
  const status = statusLine('agents-status');
  view.replaceChildren(
    h('p', { class: 'lead' }, 'Add an agent with ', h('code', {}, 'wharf agents add NAME'), '. Draining an agent stops it taking jobs and snapshots and stops its apps; Resume lets it take jobs again.'),
    error, status, tableRegion(table, 'agents-caption'));

  let last = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  /** Drains an agent (after the user confirms), or resumes a drained one. */
  const setDrain = async (a: AgentRow, action: 'drain' | 'resume') => {
    if (action === 'drain') {
      const n = a.apps.length;
      const yes = await confirmAction(view, {
        title: `Drain ${a.name}?`,
        message: `${a.name} takes no new jobs from now on${n ? `; its ${n} running app${n === 1 ? ' is' : 's are'} snapshotted and stopped` : ''}. Their owners can launch them again on another agent.`,
        confirm: 'Drain agent',
      });
      if (!yes) return;
    }
    error.textContent = '';
    try {
      const after = await api<AgentRow>(`/api/v1/agents/${encodeURIComponent(a.id)}/${action}`, { method: 'POST' });
      status.textContent = `${after.name} is ${drainState(after).label}.`;
      await refresh();
      // Its button is gone: the table keeps the keyboard's place.
      if (!document.activeElement || document.activeElement === document.body) view.querySelector<HTMLElement>('.table-wrap')?.focus();
    } catch (err) {
      if (err instanceof SignedOut) return;
      error.textContent = `Cannot ${action} ${a.name}: ${errorText(err)}`;
    }
  };

  const rowOf = (a: AgentRow, now: number): HTMLTableRowElement => {
    const s = agentState(a.state);
    const d = drainState(a);
    const r = hostResources(a.resources);
    const drainButton = a.drain
      ? h('button', { type: 'button', 'aria-label': `Resume agent: ${a.name}`, 'data-focus': `resume-${a.id}` }, 'Resume')
      : h('button', { type: 'button', 'aria-label': `Drain agent: ${a.name}`, 'data-focus': `drain-${a.id}` }, 'Drain');
    drainButton.addEventListener('click', () => void setDrain(a, a.drain ? 'resume' : 'drain'));
    return h('tr', { 'data-id': a.id, 'data-name': a.name },
      h('th', { scope: 'row' }, h('span', { class: 'name' }, a.name), h('span', { class: 'id' }, a.id)),
      h('td', { 'data-state': s.kind }, h('span', { class: `status agent-${s.kind}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, s.icon), ' ', s.label)),
      h('td', {}, h('ul', { class: 'tags' }, ...a.queues.map((q) => h('li', {}, q)))),
      h('td', { class: 'num' }, r.memory ?? unknown()),
      h('td', { class: 'num' }, r.cpu ?? unknown()),
      h('td', { class: 'num' }, r.disk ?? unknown()),
      h('td', {},
        r.apps ? h('span', { class: 'count' }, r.apps) : null,
        a.apps.length
          ? h('ul', { class: 'apps' }, ...a.apps.map((i) => h('li', {},
            h('a', { href: `/instances/${encodeURIComponent(i.id)}`, 'data-focus': `app-${i.id}` }, i.name || i.id), ' ', h('span', { class: 'app-status' }, `(${statusWord(i.status)})`))))
          : h('span', { class: 'none' }, r.apps ? '' : 'none')),
      h('td', { class: 'num' }, a.lastSeen ? h('time', { datetime: a.lastSeen, title: a.lastSeen }, ago(a.lastSeen, now)) : h('span', { class: 'none' }, 'never')),
      h('td', { 'data-drain': d.kind },
        h('span', { class: `drain drain-${d.kind}` }, d.label),
        ' ', drainButton));
  };

  const render = (agents: AgentRow[]) => {
    const now = Date.now();
    keepFocus(body, () => body.replaceChildren(...(agents.length
      ? agents.map((a) => rowOf(a, now))
      : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'No agents yet. Add one with ', h('code', {}, 'wharf agents add NAME'), '.'))])));
  };

  const refresh = async () => {
    const { agents } = await api<{ agents: AgentRow[] }>('/api/v1/agents');
    const json = JSON.stringify(agents);
    if (json !== last) {
      last = json;
      render(agents);
    } else {
      // Nothing changed but time: "last seen" moves on.
      const now = Date.now();
      for (const time of body.querySelectorAll('time')) {
        const text = ago(time.dateTime, now);
        if (time.textContent !== text) time.textContent = text;
      }
    }
    table.setAttribute('aria-busy', 'false');
  };

  const poll = async () => {
    try {
      await refresh();
      // The notice is shared by every page: once this one is left, it is the next page's.
      if (stopped) return;
      notice.textContent = '';
    } catch (err) {
      if (stopped || err instanceof SignedOut) return;
      notice.textContent = `Cannot refresh the agents (${errorText(err)}); retrying.`;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  table.setAttribute('aria-busy', 'true');
  void poll();
  return () => { stopped = true; clearTimeout(timer); };
}

import { confirmAction } from '../admin/ui.ts';
import { api, ApiError, errorText, SignedOut } from '../api.ts';
import { copyText } from '../clipboard.ts';
import { h } from '../dom.ts';
import { age, statusDisplay } from '../format.ts';
import { follow, type Follow } from '../live.ts';
import type { PageContext } from '../page.ts';
import { createCharts } from '../instance/charts.ts';
import { atBottom, clock, consoleEvent, lineLook, MAX_LINES, overflow, type ConsoleEvent } from '../instance/console-log.ts';
import { canStop, cloneHref, connectCommand, exportFileName, exportText, noAddressWords, openLabel, openState } from '../instance/links.ts';
import type { MetricsAnswer } from '../instance/metrics.ts';
import { metricsPath, rangeOf, RANGES, refreshWords } from '../instance/metrics-range.ts';
import { sharePanel } from '../instance/share-panel.ts';
import { appWords, countdown, idleLimitWords, idleWords, isInstanceView, isLive, secondsLeft, type InstanceView } from '../instance/view.ts';
import { statusBadge } from '../status-badge.ts';

/*
 * One instance (`/instances/:id`): its status, idle clock and idle-stop warning, links, charts
 * of its traffic and resources, its console, the actions Stop, Clone and Export, and for its
 * owner or an admin, its sharing with other users (instance/share-panel.ts).
 *
 * The view is loaded once, then follows `GET /api/v1/instances/:id?follow=1` (event
 * `instance`; EventSource reconnects by itself after a break). Metrics are polled over the
 * range picked (`?range=`, instance/metrics-range.ts); the console follows its own event stream. Between updates a 1 s
 * tick moves the idle clock, the countdown and the age. Parts are updated in place, so focus,
 * selection and screen-reader position survive the updates.
 */

/** A term and its description in the summary list; the description is updated in place. */
function fact(list: HTMLDListElement, term: string, key: string): HTMLElement {
  const dd = h('dd', { 'data-fact': key });
  list.append(h('div', {}, h('dt', {}, term), dd));
  return dd;
}

/** `value` in <code> with a Copy button; `what` names the button ("Copy TCP address"). */
function copyable(value: string, what: string, id: string): HTMLElement {
  const code = h('code', { id }, value);
  const status = h('span', { class: 'copied', role: 'status' });
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${what}`, 'aria-describedby': id }, 'Copy');
  button.addEventListener('click', () => void copyText(value, code, status).then(() => {
    setTimeout(() => { status.textContent = ''; }, 4000);
  }));
  return h('span', { class: 'copyable' }, code, button, status);
}

function link(href: string, id: string): HTMLAnchorElement {
  return h('a', { href, id, target: '_blank', rel: 'noopener' }, href);
}

export function instancePage(ctx: PageContext): () => void {
  const { view: root, notice } = ctx;
  const id = ctx.params.id ?? '';
  ctx.title(`Instance ${id}`);

  let stopped = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => { timers.delete(t); if (!stopped) fn(); }, ms);
    timers.add(t);
  };
  const streams: Follow[] = [];

  // ---- Summary: status, idle warning, actions, facts -------------------------------------
  // Focusable by script only: it takes focus from a Stop button that a stop disabled.
  const statusLine = h('p', { class: 'inst-status', id: 'instance-status', 'aria-live': 'polite', tabindex: -1 }, 'Loading…');
  const warning = h('div', { id: 'idle-warning', role: 'alert', class: 'alert' });
  const warningCountdown = h('p', { class: 'countdown', id: 'idle-countdown' });
  const warningBox = h('div', { class: 'alert-box', hidden: true }, warning, warningCountdown);

  const openLink = h('a', { id: 'open', class: 'button primary', target: '_blank', rel: 'noopener', href: '#', hidden: true }, 'Open app');
  // Until the app answers: a link would land on the gateway's "starting" page (or nowhere while queued).
  const openWait = h('button', { type: 'button', id: 'open-wait', class: 'primary', disabled: true, hidden: true, 'aria-describedby': 'open-note' }, 'Open app');
  // Why Open waits or is gone, in words (a disabled button alone says neither).
  const openNote = h('p', { id: 'open-note', class: 'hint open-note', role: 'status' });
  const stopButton = h('button', { type: 'button', id: 'stop', disabled: true }, 'Stop');
  // Only a stopped or failed instance can be removed (its snapshots are kept).
  const removeButton = h('button', { type: 'button', id: 'remove', class: 'danger', hidden: true }, 'Remove');
  const cloneLink = h('a', { id: 'clone', class: 'button', href: cloneHref(id) }, 'Clone');
  const exportButton = h('button', { type: 'button', id: 'export' }, 'Export configuration');
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' }, openLink, openWait, stopButton, cloneLink, exportButton, removeButton);

  const facts = h('dl', { class: 'facts', id: 'instance-facts' });
  const f = {
    session: fact(facts, 'Session id', 'session'),
    name: fact(facts, 'Name', 'name'),
    app: fact(facts, 'App', 'app'),
    project: fact(facts, 'Project', 'project'),
    tags: fact(facts, 'Tags', 'tags'),
    queue: fact(facts, 'Queue', 'queue'),
    owner: fact(facts, 'Owner', 'owner'),
    idle: fact(facts, 'Activity', 'idle'),
    age: fact(facts, 'Age', 'age'),
    restored: fact(facts, 'Workspace restored from', 'restored'),
  };
  const idleNow = h('span', { id: 'idle-time' });
  const idleHint = h('span', { class: 'hint', id: 'idle-limit' });
  f.idle.append(idleNow, idleHint);

  // ---- Links --------------------------------------------------------------------------
  const linksList = h('dl', { class: 'facts links', id: 'instance-links' });
  // Why there is no address, when there is none (a <p> may not stand in a <dl>).
  const linksNone = h('p', { class: 'none', id: 'links-none', hidden: true });
  const linksSection = h('section', { class: 'panel', 'aria-labelledby': 'links-heading' },
    h('h2', { id: 'links-heading' }, 'Connect'), linksList, linksNone);

  // ---- Metrics ------------------------------------------------------------------------
  const charts = createCharts();
  let range = rangeOf(ctx.query.get('range'));
  const rangeSelect = h('select', { id: 'metrics-range', 'aria-describedby': 'metrics-refresh' },
    ...RANGES.map((r) => h('option', { value: r.id, selected: r.id === range.id }, r.label)));
  const refreshHint = h('span', { class: 'hint', id: 'metrics-refresh' }, `${refreshWords(range)}.`);
  const metricsSection = h('section', { class: 'panel', 'aria-labelledby': 'metrics-heading' },
    h('h2', { id: 'metrics-heading' }, 'Metrics'),
    h('p', { class: 'metrics-range' }, h('label', { for: 'metrics-range' }, 'Time range'), ' ', rangeSelect, ' ', refreshHint),
    charts.element);

  // ---- Console ------------------------------------------------------------------------
  // The scrolling box is the log (role="log"); its lines are a list inside it.
  const lines = h('ol', { class: 'lines' });
  const log = h('div', { id: 'console', class: 'console', role: 'log', 'aria-live': 'off', 'aria-labelledby': 'console-heading', tabindex: 0 }, lines);
  const consoleEmpty = h('p', { class: 'hint', id: 'console-empty' }, 'No output yet.');
  const consoleSection = h('section', { class: 'panel', 'aria-labelledby': 'console-heading' },
    h('h2', { id: 'console-heading' }, 'Console'),
    h('p', { class: 'hint' }, 'Agent events and the app\u2019s output, live; times in UTC. Scroll up to pause following.'),
    consoleEmpty, log);

  // ---- Sharing (the owner's or an admin's; shown once the view names the owner) ----------
  const shares = sharePanel({
    id, me: ctx.me, host: root, alive: () => !stopped,
    label: () => (current?.name ? `${current.name} (${id})` : id),
  });

  // ---- Stop confirmation --------------------------------------------------------------
  const confirmStop = h('button', { type: 'button', id: 'stop-confirm', class: 'danger' }, 'Stop instance');
  const cancelStop = h('button', { type: 'button', id: 'stop-cancel', autofocus: true }, 'Cancel');
  const dialog = h('dialog', { id: 'stop-dialog', 'aria-labelledby': 'stop-dialog-title', 'aria-describedby': 'stop-dialog-text' },
    h('h2', { id: 'stop-dialog-title' }, 'Stop this instance?'),
    h('p', { id: 'stop-dialog-text' }, 'Wharf saves its workspace and removes its container. You can launch a copy later with Clone.'),
    h('div', { class: 'actions' }, confirmStop, cancelStop));

  root.replaceChildren(
    h('section', { class: 'inst-head', 'aria-label': 'Summary' }, statusLine, warningBox, h('div', {}, actions, openNote), facts),
    linksSection, metricsSection, consoleSection, shares.element, dialog);

  // ---- Rendering the view -------------------------------------------------------------
  let current: InstanceView | null = null;
  let receivedAt = 0;
  let lastLinks = '';
  let lastStopsAt: string | null = null;
  let busy = false; // a stop request is on its way
  let lastHeading = '';

  const setText = (el: HTMLElement, text: string) => {
    if (el.textContent !== text) el.textContent = text;
  };

  const renderLinks = (v: InstanceView) => {
    const live = isLive(v.status);
    const key = JSON.stringify([v.links, v.config.routing.mode, live || v.status]);
    if (key === lastLinks) return;
    lastLinks = key;
    const none = (why: string) => {
      linksList.replaceChildren();
      linksList.hidden = true;
      linksNone.textContent = why;
      linksNone.hidden = false;
    };
    // A stopped or failed app has no address: its links would lead to an error page.
    if (!live) return none(noAddressWords(v.status));
    linksList.hidden = false;
    linksNone.hidden = true;
    const rows: HTMLElement[] = [];
    const row = (term: string, ...value: (Node | string)[]) => rows.push(h('div', {}, h('dt', {}, term), h('dd', {}, ...value)));
    // A TCP app is reached on its port only: its HTTPS names lead nowhere.
    const tcp = v.config.routing.mode === 'tcp';
    if (v.links.https && !tcp) row('HTTPS', link(v.links.https, 'link-https'));
    if (v.links.endpoint && !tcp) row('API endpoint', h('span', { class: 'hint' }, 'for programs sending ', h('code', {}, 'Authorization: Bearer')), ' ', copyable(v.links.endpoint, 'API endpoint', 'link-endpoint'));
    if (tcp) {
      row('TCP address', v.links.tcp ? copyable(v.links.tcp, 'TCP address', 'link-tcp') : h('span', { class: 'none' }, 'not assigned yet'));
      row('Connect from your computer', copyable(connectCommand(v.id), 'connect command', 'connect-command'));
    }
    if (!rows.length) return none('This app is not routed: it has no address outside its host.');
    linksList.replaceChildren(...rows);
  };

  /** The parts that move with the clock alone. */
  const tick = () => {
    const v = current;
    if (!v) return;
    const now = Date.now();
    setText(idleNow, idleWords(v, now - receivedAt));
    const ageText = age(v.created, now);
    const time = f.age.firstElementChild as HTMLTimeElement | null;
    if (time) setText(time, ageText);
    if (v.idleWarning) setText(warningCountdown, countdown(secondsLeft(v.idleWarning, now - receivedAt)));
  };

  const render = (v: InstanceView) => {
    current = v;
    receivedAt = Date.now();
    const heading = v.name ? `${v.name} (${v.id})` : `Instance ${v.id}`;
    if (heading !== lastHeading) {
      lastHeading = heading;
      ctx.title(heading);
    }

    const shown = statusDisplay(v);
    // Why a queued instance waits ("no agent serves queue gpu") is said beside its status too.
    const s = shown.detail === null && v.status === 'queued' && v.statusReason ? { ...shown, detail: v.statusReason } : shown;
    const statusKey = `${s.kind}|${s.label}|${s.detail ?? ''}`;
    if (statusLine.dataset.key !== statusKey) {
      statusLine.dataset.key = statusKey;
      statusLine.dataset.status = s.kind;
      statusLine.replaceChildren(
        statusBadge(s),
        ...(s.detail ? [h('span', { class: 'reason', id: 'status-reason' }, s.detail)] : []));
    }

    // The idle-stop warning: announced once when it appears, the countdown beside it.
    const stopsAt = v.idleWarning?.stopsAt ?? null;
    if (stopsAt !== lastStopsAt) {
      lastStopsAt = stopsAt;
      warningBox.hidden = stopsAt === null;
      warning.replaceChildren(...(stopsAt === null ? [] : [
        h('strong', {}, 'Idle: '),
        `Wharf stops this instance at ${new Date(stopsAt).toLocaleTimeString()} unless it is used. Its workspace is saved.`,
      ]));
    }

    const open = openState(v);
    const label = openLabel(v.app);
    if (open.kind === 'open' && openLink.getAttribute('href') !== open.href) openLink.href = open.href;
    setText(openLink, label);
    setText(openWait, label);
    // What the signed-in user may do (control says; an answer without it is an owner's): a
    // viewer does not open the app, only its owner (or an admin) stops, clones or removes it.
    const access = v.access ?? 'owner';
    const viewer = access === 'viewer';
    openLink.hidden = open.kind !== 'open' || viewer;
    openWait.hidden = open.kind !== 'wait' || viewer;
    setText(openNote, viewer ? 'Shared with you to view: opening the app takes the user role.' : open.kind === 'open' ? '' : open.why ?? '');
    charts.setLive(isLive(v.status));
    stopButton.hidden = access !== 'owner';
    stopButton.disabled = busy || !canStop(v.status);
    removeButton.hidden = access !== 'owner' || (v.status !== 'stopped' && v.status !== 'failed');
    cloneLink.hidden = access !== 'owner';
    exportButton.hidden = viewer;

    setText(f.session, v.id);
    setText(f.name, v.name || '—');
    setText(f.app, appWords(v));
    setText(f.project, v.project);
    const tagsKey = JSON.stringify(v.tags);
    if (f.tags.dataset.key !== tagsKey) {
      f.tags.dataset.key = tagsKey;
      f.tags.replaceChildren(v.tags.length ? h('ul', { class: 'tags' }, ...v.tags.map((t) => h('li', {}, t))) : h('span', { class: 'none' }, 'none'));
    }
    setText(f.queue, v.queue);
    // What the idle time leads to, while there is one: it is not the status (an active app can be quiet).
    setText(idleHint, v.idleSeconds === null ? '' : idleLimitWords(v.config.idle.maxHours));
    setText(f.owner, v.owner);
    if (f.age.dataset.key !== v.created) {
      f.age.dataset.key = v.created;
      f.age.replaceChildren(h('time', { datetime: v.created, title: v.created }, age(v.created, Date.now())), ' ', h('span', { class: 'hint' }, `(created ${new Date(v.created).toLocaleString()})`));
    }
    const restoredKey = v.restoredFrom ?? '';
    if (f.restored.dataset.key !== restoredKey || !f.restored.firstChild) {
      f.restored.dataset.key = restoredKey;
      f.restored.replaceChildren(v.restoredFrom
        ? h('a', { href: `/instances/${encodeURIComponent(v.restoredFrom)}`, id: 'restored-from' }, v.restoredFrom)
        : h('span', { class: 'none' }, 'a new workspace'));
    }
    renderLinks(v);
    shares.show(v.owner);
    tick();
  };

  /** Handles what ends the page (signed out, no such instance); true when `err` was handled, or the page was left. */
  const failed = (err: unknown): boolean => {
    // The title and the notice belong to the next page once this one is left.
    if (stopped) return true;
    if (err instanceof SignedOut) {
      stopped = true;
      return true;
    }
    if (err instanceof ApiError && err.status === 404) {
      stopped = true;
      close();
      ctx.title('Instance not found');
      root.replaceChildren(h('p', {}, `Wharf has no instance “${id}” that you can see. `, h('a', { href: '/' }, 'Go to your instances'), '.'));
      return true;
    }
    return false;
  };

  // ---- Loading and following the view --------------------------------------------------
  const load = async (): Promise<boolean> => {
    try {
      const v = await api<InstanceView>(`/api/v1/instances/${encodeURIComponent(id)}`);
      if (stopped) return false;
      render(v);
      return true;
    } catch (err) {
      if (stopped) return false;
      if (!failed(err)) notice.textContent = `Cannot load this instance (${errorText(err)}); retrying.`;
      return false;
    }
  };

  const followView = () => {
    streams.push(follow(`/api/v1/instances/${encodeURIComponent(id)}?follow=1`, {
      instance: (data) => {
        if (!isInstanceView(data, id) || stopped) return;
        render(data);
      },
    }, (trouble) => { if (!stopped) notice.textContent = trouble ?? ''; }, { onRefused: (err) => void failed(err) }));
  };

  // ---- Metrics ------------------------------------------------------------------------
  // Each poll is a round; a new range starts a new one and an older round's answer is dropped.
  let metricsRound = 0;
  const pollMetrics = async () => {
    const round = ++metricsRound;
    try {
      const m = await api<MetricsAnswer>(metricsPath(id, range, Date.now()));
      if (stopped || round !== metricsRound) return;
      charts.update(m, current ? isLive(current.status) : true);
    } catch (err) {
      if (stopped || failed(err) || round !== metricsRound) return;
      notice.textContent = `Cannot refresh the metrics (${errorText(err)}); retrying.`;
    }
    later(() => { if (round === metricsRound) void pollMetrics(); }, range.refreshMs);
  };
  rangeSelect.addEventListener('change', () => {
    range = rangeOf(rangeSelect.value);
    refreshHint.textContent = `${refreshWords(range)}.`;
    const query = new URLSearchParams(location.search);
    query.set('range', range.id);
    ctx.setQuery(query);
    void pollMetrics();
  });

  // ---- Console ------------------------------------------------------------------------
  let lastSeq = 0;
  let pending: ConsoleEvent[] = [];
  let frame = 0;
  const flush = () => {
    frame = 0;
    if (!pending.length || stopped) return;
    const stick = atBottom(log.scrollTop, log.clientHeight, log.scrollHeight);
    const batch = pending.slice(-MAX_LINES);
    pending = [];
    const drop = overflow(lines.childElementCount, batch.length);
    for (let i = 0; i < drop && lines.firstElementChild; i++) lines.firstElementChild.remove();
    const fragment = document.createDocumentFragment();
    for (const l of batch) {
      const look = lineLook(l.stream);
      fragment.append(h('li', { class: look.className, 'data-seq': l.seq, 'data-stream': l.stream },
        h('time', { datetime: l.at, title: l.at }, clock(l.at)), ' ',
        look.label === null ? null : h('span', { class: 'stream' }, look.label), look.label === null ? null : ' ',
        h('span', { class: 'text' }, l.text)));
    }
    lines.append(fragment);
    consoleEmpty.hidden = true;
    if (stick) log.scrollTop = log.scrollHeight;
  };
  const followConsole = () => {
    streams.push(follow(`/api/v1/instances/${encodeURIComponent(id)}/console?follow=1`, {
      message: (data) => {
        const line = consoleEvent(data);
        if (!line || line.seq <= lastSeq) return;
        lastSeq = line.seq;
        pending.push(line);
        if (pending.length > MAX_LINES) pending = pending.slice(-MAX_LINES);
        if (!frame) frame = requestAnimationFrame(flush);
      },
    }, (trouble) => {
      if (trouble !== null && !stopped) notice.textContent = trouble;
    }, { resumeParam: 'since' }));
  };

  // ---- Actions ------------------------------------------------------------------------
  stopButton.addEventListener('click', () => {
    if (!stopButton.disabled) dialog.showModal();
  });
  cancelStop.addEventListener('click', () => dialog.close());
  confirmStop.addEventListener('click', async () => {
    dialog.close();
    busy = true;
    stopButton.disabled = true;
    setText(stopButton, 'Stopping…');
    try {
      const v = await api<InstanceView>(`/api/v1/instances/${encodeURIComponent(id)}/stop`, { method: 'POST' });
      if (stopped) return;
      render(v);
      notice.textContent = '';
    } catch (err) {
      if (stopped) return;
      if (!failed(err)) notice.textContent = `Cannot stop this instance: ${errorText(err)}`;
    } finally {
      busy = false;
      setText(stopButton, 'Stop');
      if (current) stopButton.disabled = !canStop(current.status);
      // A disabled button cannot hold focus (it would fall to <body>): the status line says what happened.
      if (!stopped) (stopButton.disabled ? statusLine : stopButton).focus();
    }
  });

  removeButton.addEventListener('click', async () => {
    const what = current?.name ? `${current.name} (${id})` : id;
    const yes = await confirmAction(root, {
      title: 'Remove this instance?',
      message: `Wharf forgets ${what}: it leaves the lists, with its console and metrics. Its workspace snapshots are kept, so a clone of it can still start where it stopped.`,
      confirm: 'Remove instance',
    });
    if (!yes || stopped) return;
    removeButton.disabled = true;
    try {
      await api(`/api/v1/instances/${encodeURIComponent(id)}`, { method: 'DELETE' });
      if (!stopped) ctx.go('/');
    } catch (err) {
      if (stopped || err instanceof SignedOut) return;
      notice.textContent = `Cannot remove this instance: ${errorText(err)}`;
      removeButton.disabled = false;
    }
  });

  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    try {
      const config = await api<unknown>(`/api/v1/instances/${encodeURIComponent(id)}/config`);
      const url = URL.createObjectURL(new Blob([exportText(config)], { type: 'application/json' }));
      const a = h('a', { href: url, download: exportFileName(id), hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      if (stopped) return;
      if (!failed(err)) notice.textContent = `Cannot export the configuration: ${errorText(err)}`;
    } finally {
      exportButton.disabled = false;
    }
  });

  // ---- Start --------------------------------------------------------------------------
  const close = () => {
    for (const s of streams) s.close();
    streams.length = 0;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    clearInterval(ticker);
    if (frame) cancelAnimationFrame(frame);
    charts.destroy();
    if (dialog.open) dialog.close();
  };
  const ticker = setInterval(tick, 1000);

  // The first answer shows the page at once (and finds a 404, which a stream cannot see).
  void load().then(() => {
    if (stopped) return;
    followView();
    followConsole();
    void pollMetrics();
  });

  return () => {
    stopped = true;
    close();
  };
}

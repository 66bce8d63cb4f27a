import { api, leaveFor, SignedOut } from './api.ts';
import { byId, h } from './dom.ts';
import type { Me, Page, PageContext } from './page.ts';
import { matchRoute, section, type PageName } from './router.ts';
import { accountPage } from './pages/account.ts';
import { agentsPage } from './pages/agents.ts';
import { appsPage } from './pages/apps.ts';
import { auditPage } from './pages/audit.ts';
import { instancePage } from './pages/instance.ts';
import { instancesPage } from './pages/instances.ts';
import { launchPage } from './pages/launch.ts';
import { projectsPage } from './pages/projects.ts';
import { usersPage } from './pages/users.ts';

/*
 * The dashboard's entry: who is signed in, the navigation, and one page at a time. Links to
 * dashboard pages move without reloading (history.pushState); each page gets a fresh view and
 * gives back a cleanup that closes its streams and timers when the user leaves it.
 */

const PAGES: Record<PageName, Page> = {
  instances: instancesPage,
  instance: instancePage,
  apps: appsPage,
  launch: launchPage,
  projects: projectsPage,
  account: accountPage,
  users: usersPage,
  agents: agentsPage,
  audit: auditPage,
};

const NAV: { name: PageName; label: string; href: string; admin?: boolean }[] = [
  { name: 'instances', label: 'Instances', href: '/' },
  { name: 'apps', label: 'Apps', href: '/apps' },
  { name: 'projects', label: 'Projects', href: '/projects' },
  { name: 'agents', label: 'Agents', href: '/agents', admin: true },
  { name: 'users', label: 'Users', href: '/users', admin: true },
  { name: 'audit', label: 'Audit', href: '/audit', admin: true },
  { name: 'account', label: 'Account', href: '/account' },
];

let cleanup: (() => void) | void;
/** The path and query of the page shown. */
let shownPath = '';

function render(me: Me): void {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  shownPath = location.pathname + location.search;
  const heading = byId('title');
  const notice = byId('notice');
  notice.textContent = '';
  const old = byId('view');
  const view = h('div', { id: 'view' });
  old.replaceWith(view);

  const match = matchRoute(location.pathname);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (match && link.dataset.page === section(match.name)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const title = (text: string) => {
    heading.textContent = text;
    document.title = `${text} · Wharf`;
  };
  if (!match || (match.admin && !me.admin)) {
    title(match ? 'Not allowed' : 'Page not found');
    view.append(h('p', {}, match ? 'Only an admin can see this page. ' : 'Wharf has no page at this address. ', h('a', { href: '/' }, 'Go to your instances'), '.'));
    return;
  }
  const ctx: PageContext = {
    view, notice, me, params: match.params, query: new URLSearchParams(location.search), title,
    go: (path) => {
      history.pushState(null, '', path);
      render(me);
      focusMain();
    },
    setQuery: (query) => {
      const search = query.toString() ? `?${query}` : '';
      history.replaceState(null, '', location.pathname + search + location.hash);
      shownPath = location.pathname + search;
    },
  };
  cleanup = PAGES[match.name](ctx);
}

/** After moving to another page, screen readers and keyboards start at its heading. */
function focusMain(): void {
  byId('main').focus();
  window.scrollTo(0, 0);
}

function navigation(me: Me): void {
  const nav = byId('nav');
  nav.replaceChildren(...NAV.filter((n) => !n.admin || me.admin).map((n) => h('a', { href: n.href, 'data-page': n.name }, n.label)));
  // Same-origin links to dashboard pages move without reloading; others (the API, apps, downloads) load normally.
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.('a');
    if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
    if (!matchRoute(link.pathname)) return;
    // A link within this page ("Skip to content", #main): the browser scrolls and moves focus to it.
    if (link.hash && link.pathname + link.search === location.pathname + location.search) return;
    event.preventDefault();
    if (link.pathname + link.search === location.pathname + location.search) return;
    history.pushState(null, '', link.pathname + link.search);
    render(me);
    focusMain();
  });
  // A link within the page (#main) adds a history entry too: Back and Forward between such entries keep the page as it is.
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== shownPath) render(me);
  });
}

async function main(): Promise<void> {
  const notice = byId('notice');
  byId<HTMLButtonElement>('signout').addEventListener('click', async (event) => {
    (event.currentTarget as HTMLButtonElement).disabled = true;
    let endSession: string | undefined;
    try {
      // A single sign-on session answers with the IdP's sign-out, which comes back to sign-in.
      endSession = (await api<{ endSession?: string } | undefined>('/api/v1/auth/logout', { method: 'POST' }))?.endSession;
    } catch (err) {
      if (err instanceof SignedOut) return;
    }
    leaveFor(endSession ?? '/signin?return=/');
  });
  let me: Me;
  try {
    me = (await api<{ user: Me }>('/api/v1/auth/me')).user;
  } catch (err) {
    if (!(err instanceof SignedOut)) notice.textContent = `Cannot reach Wharf (${err instanceof Error ? err.message : String(err)}). Reload to try again.`;
    return;
  }
  byId('who').textContent = `Signed in as ${me.name}${me.admin ? ' (admin)' : ''}`;
  navigation(me);
  render(me);
}

void main();

import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { APP_KINDS, type AppKind } from '../../../protocol/app-config.ts';

/* The kinds of app one can launch, each with a way into the launch form; and importing a configuration file. */

const KINDS: Record<AppKind, { title: string; summary: string; details: string }> = {
  container: {
    title: 'Container',
    summary: 'Any image.',
    details: 'Runs a Docker image with your command, environment and files, reached through the gateway over HTTPS or TCP.',
  },
  jupyter: {
    title: 'Jupyter',
    summary: 'JupyterLab/Notebook with a workspace, git, packages.',
    details: 'A notebook server whose workspace is kept in snapshots, with an optional git repository, extra pip packages and an init script.',
  },
};

function card(id: string, title: string, summary: string, details: string, link: HTMLAnchorElement): HTMLLIElement {
  return h('li', { class: 'app-card', 'aria-labelledby': id },
    h('h2', { id }, title),
    h('p', { class: 'app-summary' }, summary),
    h('p', { class: 'app-details' }, details),
    link);
}

export function appsPage(ctx: PageContext): void {
  ctx.title('Apps');
  ctx.view.replaceChildren(
    h('p', { class: 'lead' }, 'Launch a new instance of an app, or fill the launch form from a configuration file.'),
    h('ul', { class: 'app-cards' },
      ...APP_KINDS.map((kind) => card(`app-${kind}`, KINDS[kind].title, KINDS[kind].summary, KINDS[kind].details,
        // "Launch new" is what shows; the rest tells the links apart for screen readers (and keeps the visible words first).
        h('a', { class: 'button primary', href: `/launch?app=${kind}` }, 'Launch new', h('span', { class: 'vh' }, ` ${kind} app`)))),
      card('app-import', 'Import configuration', 'A JSON app config.',
        'One exported from an instance ("Export") or written by hand: it fills the launch form, which checks it before anything runs.',
        h('a', { class: 'button', href: '/launch?import=1' }, 'Import configuration'))));
}

import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function appsPage(ctx: PageContext): void {
  ctx.title('apps');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

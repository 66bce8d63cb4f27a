import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function agentsPage(ctx: PageContext): void {
  ctx.title('agents');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

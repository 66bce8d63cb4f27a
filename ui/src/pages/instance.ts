import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function instancePage(ctx: PageContext): void {
  ctx.title('instance');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

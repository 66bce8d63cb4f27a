import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function launchPage(ctx: PageContext): void {
  ctx.title('launch');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

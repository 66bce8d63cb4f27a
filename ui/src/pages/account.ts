import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function accountPage(ctx: PageContext): void {
  ctx.title('account');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

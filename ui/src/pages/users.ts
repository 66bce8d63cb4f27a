import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';

/* Placeholder until this page is written. */
export function usersPage(ctx: PageContext): void {
  ctx.title('users');
  ctx.view.append(h('p', {}, 'Not written yet.'));
}

import { h } from './dom.ts';
import type { StatusDisplay } from './format.ts';

/* An instance's status as the list and the instance page show it. */

/** A shape as well as a colour, so that the status reads without colour too; the words follow it. */
export const STATUS_ICONS: Record<StatusDisplay['kind'], string> = {
  queued: '○', starting: '◔', active: '●', idle: '◑', stopping: '◕', stopped: '■', failed: '✕', offline: '⚠',
};

/** The icon and the words of `s` (from statusDisplay); its detail, if any, is the caller's to place. */
export function statusBadge(s: StatusDisplay): HTMLElement {
  return h('span', { class: `status status-${s.kind}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, STATUS_ICONS[s.kind]), ' ', s.label);
}

import { h } from './dom.ts';

/*
 * Every list of the dashboard is a table in a region. At 1280 px it is a table; at phone
 * width (base.css, `table.stacked`) each row becomes a card whose cells say their column's
 * name, so nothing hides past the right edge. Explicit ARIA roles keep it a table for screen
 * readers, which drop the table semantics of elements whose CSS display changed.
 */

const ROLES: Record<string, string> = { THEAD: 'rowgroup', TBODY: 'rowgroup', TR: 'row', TD: 'cell' };

/** The table in a focusable region (keyboards can scroll what is still too wide), stacked on phones. */
export function tableRegion(table: HTMLTableElement, captionId: string): HTMLDivElement {
  table.classList.add('stacked');
  table.setAttribute('role', 'table');
  const label = () => {
    const columns = [...(table.tHead?.rows[0]?.cells ?? [])].map((c) => c.textContent?.trim() ?? '');
    for (const el of table.querySelectorAll<HTMLElement>('thead, tbody, tr, th, td')) {
      if (el.hasAttribute('role')) continue;
      el.setAttribute('role', el.tagName === 'TH' ? (el.closest('thead') ? 'columnheader' : 'rowheader') : ROLES[el.tagName]!);
    }
    for (const row of table.tBodies[0]?.rows ?? []) {
      let column = 0;
      for (const cell of row.cells) {
        const name = cell.colSpan === 1 ? columns[column] : undefined;
        if (name && cell.dataset.label !== name) cell.dataset.label = name;
        column += cell.colSpan;
      }
    }
  };
  // Rows come and go with live updates (whole rows, never single cells): each new one is
  // labelled before it is painted.
  const body = table.tBodies[0];
  if (body) new MutationObserver(label).observe(body, { childList: true });
  label();
  return h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': captionId, tabindex: 0 }, table);
}

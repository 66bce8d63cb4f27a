import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/* What the dashboard's browser tests do on every page: sign in, run axe-core, screenshot at two widths and both schemes. */

export const SCREENSHOTS = join(import.meta.dirname, '..', '.screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol, which the page's CSP (script-src 'self') does not govern.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe.run());
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** What is wider than the window: the page, or a table's region (which then scrolls sideways). */
async function tooWide(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const wide = (el: Element) => el.scrollWidth > el.clientWidth + 1;
    const out = wide(document.documentElement) ? ['the page scrolls sideways'] : [];
    for (const region of document.querySelectorAll('.table-wrap')) {
      if (wide(region)) out.push(`the table "${region.querySelector('caption')?.textContent?.trim()}" scrolls sideways`);
    }
    return out;
  });
}

/**
 * Screenshots the page as `<name>-<width>-<scheme>.png` at 1280 and 390 px wide, light and
 * dark, and returns axe-core's serious or critical violations in each (prefixed by where),
 * and at 390 px anything wider than the phone.
 * The viewport is left at 1280 px, light.
 */
export async function checkPage(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const problems: string[] = [];
  for (const [width, scheme] of [[1280, 'light'], [390, 'light'], [1280, 'dark'], [390, 'dark']] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}-${scheme}.png`), fullPage: true });
    const found = [...await axeProblems(page), ...(width === 390 ? await tooWide(page) : [])];
    for (const p of found) problems.push(`${name} at ${width} px, ${scheme}: ${p}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
  return problems;
}

/** Waits for control's sign-in page and signs in there as `name`. */
export async function signIn(page: Page, password: string, name = 'admin'): Promise<void> {
  await page.waitForURL((u) => u.pathname === '/signin');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { startControlProcess } from '../support/control-process.ts';
import { checkPage, signIn } from '../support/page-checks.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { freePort, envLines, runWharf, type Running } from '../support/tcp.ts';

/*
 * Real processes: `wharf control` (its public URL is the gateway's), a `wharf gateway` fed by
 * it, and headless Chromium on the gateway's main host. The browser signs in through the
 * page, watches the instance list update live (server-sent events) while the CLI launches and stops
 * an instance (no agent: it stays queued until stopped), loses its session and comes back
 * through sign-in. Screenshots go to test/.screenshots; axe-core checks the page at 1280 and
 * 390 px wide, in light and dark.
 */

describe('dashboard: the instance list in a real browser through the gateway', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let port: number;
  let password: string;
  const problems: string[] = [];
  /** How the dashboard's script and stylesheet came: Chromium accepts br, so precompressed. */
  const assetEncodings = new Set<string>();
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', WHARF_PUBLIC_URL: '' });
  const origin = () => `https://localhost:${port}`;
  const row = (id: string) => page.locator(`#instances tbody tr[data-id="${id}"]`);


  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-dashboard-e2e-'));
    port = await freePort();
    control = await startControlProcess(env(), ['--public-url', `https://localhost:${port}/`]);
    const url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    const added = await runWharf(['gateways', 'add', 'g1'], env());
    expect(added.code, added.stderr).toBe(0);
    const gwEnv = envLines(added.stdout);
    gw = await startGateway({ env: { ...gwEnv, WHARF_PUBLIC_URL: '' }, args: ['--https-port', String(port), '--jwks', `${url}/.well-known/jwks.json`] });
    browser = await launchBrowser({ trustSpki: [await gatewaySpki(port, gw.ca, 'localhost')] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // Failed loads are recorded by path below (Chromium's own favicon probe is not a page request).
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${new URL(r.url()).pathname}`);
      if (new URL(r.url()).pathname.startsWith('/ui/')) assetEncodings.add(r.headers()['content-encoding'] ?? 'none');
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await control?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('signs in through the page, then lists instances live as the CLI launches and stops one', async () => {
    await page.goto(`${origin()}/`);
    expect(new URL(page.url()).search).toBe('?return=/');
    await signIn(page, password);
    await page.waitForURL(`${origin()}/`);
    await expect.poll(() => page.locator('#who').textContent()).toBe('Signed in as admin (admin)');
    expect([...assetEncodings]).toEqual(['br']);
    expect(await page.locator('#instances caption').textContent()).toContain('Instances');
    await expect.poll(() => page.locator('#instances tbody').textContent()).toContain('No instances yet');

    // A marker on window: it survives only if the page is never reloaded.
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });
    const project = await runWharf(['projects', 'add', 'E2E'], env());
    expect(project.code, project.stderr).toBe(0);
    const file = join(home, 'cfg.json');
    writeFileSync(file, JSON.stringify({ app: 'container', name: 'dash e2e', project: 'E2E', tags: ['e2e', 'demo'], queue: 'e2e', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } }));
    const launched = await runWharf(['launch', '-f', file], env());
    expect(launched.code, launched.stderr).toBe(0);
    const id = launched.stdout.trim();
    await row(id).waitFor({ timeout: 10_000 });
    const cells = await row(id).locator('th, td').allTextContents();
    expect(cells[0]).toContain('queued');
    expect(cells[1]).toBe(`dash e2e${id}`);
    expect(cells.slice(2, 7)).toEqual(['container', 'E2E', 'e2edemo', 'e2e', 'admin']);
    expect(cells[8]).toMatch(/^\d+s$/);

    expect(await checkPage(page, 'dashboard-instances')).toEqual([]);

    const stopped = await runWharf(['stop', id], env());
    expect(stopped.code, stopped.stderr).toBe(0);
    await expect.poll(() => row(id).locator('[data-status]').textContent(), { timeout: 10_000 }).toContain('stopped');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(problems).toEqual([]);
  });

  it('an expired session goes to sign-in and back to the page; so does a signed-out visit', async () => {
    // The session ends under the open page (signed out elsewhere): control ends the live stream,
    // its reconnect is refused, and the page goes to sign-in.
    await page.evaluate(async () => { await fetch('/api/v1/auth/logout', { method: 'POST' }); });
    await page.waitForURL((u) => u.pathname === '/signin', { timeout: 10_000 });
    expect(new URL(page.url()).searchParams.get('return')).toBe('/');
    await signIn(page, password);
    await page.waitForURL(`${origin()}/`);
    await page.locator('#instances tbody tr').first().waitFor();

    await context.clearCookies();
    await page.goto(`${origin()}/`);
    await signIn(page, password);
    await page.waitForURL(`${origin()}/`);
    await expect.poll(() => page.locator('#who').textContent()).toContain('admin');

    // Sign-out revokes the session: / goes to sign-in again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/signin');
    await page.goto(`${origin()}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  });
});

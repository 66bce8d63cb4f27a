import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { checkPage, signIn } from '../support/page-checks.ts';
import { runWharf, until, type Running } from '../support/tcp.ts';
import { portOf, startUp } from '../support/up-process.ts';

/*
 * The dashboard end to end, against `wharf up` (control, gateway and agent in one real process
 * on the real Docker Engine) in headless Chromium through the gateway: sign in, launch a
 * busybox HTTPS app from the form (an invalid port first: the field's error, nothing sent),
 * watch it go from setting up to active, open it through the /auth/app hand-off, see the
 * request and latency charts move after traffic, export its config and import it into the
 * form, clone it (snapshotting it on the way), stop the clone and the original; drain and
 * resume the agent, add a user and make them admin, create an API token the CLI can use until
 * it is revoked, change the password; an ended session goes to sign-in and back (with the new
 * password). Every page is screenshot at 1280 and 390 px (light, dark)
 * and checked by axe-core.
 */

const LABEL = `wharf.test=dashboard-${process.pid}`;
/** Sleeps before serving, so that "setting up" lasts long enough to be seen. */
const COMMAND = `sh -c 'sleep 2; mkdir -p /www && echo "<h1>Hello from the form</h1>" > /www/index.html && exec httpd -f -p 8080 -h /www'`;

interface Listed { id: string; name: string; status: string }

describe('dashboard: launch, watch, open, export, import, stop and clone in a real browser against wharf up', () => {
  let home: string;
  let up: Running | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let password: string;
  let id: string;
  const problems: string[] = [];
  const axeProblems: string[] = [];
  const env = () => ({ ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '', WHARF_PUBLIC_URL: '', WHARF_LABELS: LABEL, WHARF_HEARTBEAT_S: '0.5', WHARF_STOP_TIMEOUT_S: '1' });
  const list = async (): Promise<Listed[]> => {
    const r = await runWharf(['ls', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Listed[];
  };
  const statusText = () => page.locator('#instance-status').textContent();
  /** Stop, then confirm in the page's dialog. */
  const stop = async () => {
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop instance' }).click();
  };
  const check = async (name: string) => { axeProblems.push(...await checkPage(page, name)); };

  beforeAll(async () => {
    execFileSync(new URL('../../images/build.sh', import.meta.url).pathname, ['busybox'], { stdio: 'pipe' });
    home = mkdtempSync(join(tmpdir(), 'wharf-dashboard-flow-'));
    const started = await startUp(env());
    up = started.up;
    origin = started.run.publicUrl.replace(/\/$/, '');
    password = readFileSync(join(home, 'admin.password'), 'utf8').trim();
    const port = portOf(started.run.gateway.https);
    const ca = readFileSync(join(home, 'certs', 'ca.pem'), 'utf8');
    // The main host's certificate, and the apps' (any name under the apps domain).
    const trust = [await gatewaySpki(port, ca, 'localhost'), await gatewaySpki(port, ca, 'probe.apps.localhost')];
    browser = await launchBrowser({ trustSpki: [...new Set(trust)] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await up?.stop();
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
    if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')], { stdio: 'ignore' });
    const volumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=${LABEL}`], { encoding: 'utf8' }).trim();
    if (volumes) execFileSync('docker', ['volume', 'rm', '-f', ...volumes.split('\n')], { stdio: 'ignore' });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('signs in, refuses an invalid port in the form without sending it, then launches from the form and watches setting up → active', async () => {
    await page.goto(`${origin}/apps`);
    await signIn(page, password);
    await page.waitForURL(`${origin}/apps`);
    await check('apps');

    await page.getByRole('link', { name: /launch new/i }).first().click();
    await page.waitForURL((u) => u.pathname === '/launch');
    await page.locator('#launch-form').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('dash flow');
    await page.getByLabel('Image', { exact: true }).fill('wharf/busybox:local');
    await page.getByLabel('Command', { exact: true }).fill(COMMAND);
    await page.getByLabel('Port', { exact: true }).fill('70000');
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    const portError = page.locator('.field-error').filter({ hasText: /65535/ });
    await portError.waitFor();
    expect(await page.getByLabel('Port', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(new URL(page.url()).pathname).toBe('/launch');
    expect(await list()).toEqual([]);
    await check('launch-invalid');

    await page.getByLabel('Port', { exact: true }).fill('8080');
    // What only control knows (the container-args flags) shows at the field once it is left, before any launch;
    // the form is valid in the browser, so the field was sent to /api/v1/configs/validate.
    await page.locator('summary', { hasText: 'Container options' }).click();
    const args = page.getByLabel('Container arguments', { exact: true });
    await args.fill('--shm-size 64m --no-such-flag 1');
    await args.blur();
    await page.locator('.field-error').filter({ hasText: 'unsupported flag --no-such-flag' }).waitFor();
    expect(await args.getAttribute('aria-invalid')).toBe('true');
    // Its answer holds until the value changes: leaving the field again neither asks nor blinks the error.
    let asked = 0;
    const countChecks = (r: { url(): string }) => { if (r.url().endsWith('/api/v1/configs/validate')) asked++; };
    page.on('request', countChecks);
    await args.focus();
    await args.blur();
    expect(await args.getAttribute('aria-invalid')).toBe('true');
    await page.waitForTimeout(800); // past the form's 300 ms pause before asking
    page.off('request', countChecks);
    expect(asked).toBe(0);
    expect(await args.getAttribute('aria-invalid')).toBe('true');
    await args.fill('--shm-size 64m');
    await until('the field error goes with the fixed value', async () => (await args.getAttribute('aria-invalid')) === null, 5_000, 50);
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/instances/'));
    id = new URL(page.url()).pathname.split('/')[2];
    expect((await list()).map((i) => i.id)).toEqual([id]);

    // Statuses as the page shows them, recorded as they change.
    const seen: string[] = [];
    await until('the instance page shows active', async () => {
      const text = (await statusText())?.trim() ?? '';
      if (text && seen.at(-1) !== text) seen.push(text);
      return text.includes('active');
    }, 60_000, 50);
    expect(seen.some((s) => s.includes('setting up')), `statuses seen: ${seen.join(' → ')}`).toBe(true);
    expect(seen.at(-1)).toContain('active');
  }, 120_000);

  it('opens the app through /auth/app, and the request and latency charts move after traffic', async () => {
    const [app] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: /open app/i }).click()]);
    await app.waitForLoadState();
    expect(await app.locator('h1').textContent()).toBe('Hello from the form');
    expect(new URL(app.url()).host).toBe(`${id}.apps.localhost:${new URL(origin).port}`);
    expect(new URL(app.url()).searchParams.has('wharf_token')).toBe(false);
    for (let i = 0; i < 30; i++) await app.evaluate(async () => { await fetch(`/?n=${Math.random()}`); });
    await app.close();

    const latest = (metric: string) => page.locator(`[data-metric="${metric}"]`).getAttribute('data-latest');
    await until('the request chart counts the traffic', async () => Number(await latest('requests')) >= 30, 30_000, 250);
    await until('the latency chart has a p99', async () => Number(await latest('latency')) > 0, 30_000, 250);
    for (const chart of ['chart-requests', 'chart-latency', 'chart-cpu', 'chart-memory']) {
      expect(await page.locator(`#${chart} canvas`).count(), chart).toBeGreaterThan(0);
    }

    // A longer range asks control for it at once, is kept in the address, and survives a reload.
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/api/v1/instances/${id}/metrics?from=`)),
      page.getByLabel('Time range', { exact: true }).selectOption('6h'),
    ]);
    const series = await answer.json() as { from: number; to: number };
    expect((series.to - series.from) / 3_600_000).toBeCloseTo(6, 1);
    expect(new URL(page.url()).searchParams.get('range')).toBe('6h');
    await until('the request chart still counts the traffic', async () => Number(await latest('requests')) >= 30, 30_000, 250);
    await page.reload();
    expect(await page.getByLabel('Time range', { exact: true }).inputValue()).toBe('6h');
    await until('the charts come back after the reload', async () => Number(await latest('requests')) >= 30, 30_000, 250);
    await check('instance');
  }, 60_000);

  it('exports the config as a file and imports it back into the form', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export configuration' }).click()]);
    expect(download.suggestedFilename()).toBe(`wharf-${id}.json`);
    const file = join(home, 'exported.json');
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    expect(exported).toMatchObject({ kind: 'wharf.app-config', app: 'container', name: 'dash flow', image: 'wharf/busybox:local', command: COMMAND, routing: { mode: 'https', port: 8080 } });

    await page.goto(`${origin}/launch?app=container`);
    await page.locator('#launch-form').waitFor();
    await page.getByLabel('Import configuration (JSON)').setInputFiles(file);
    await until('the form is filled from the file', async () => (await page.getByLabel('Name', { exact: true }).inputValue()) === 'dash flow', 5_000, 50);
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe(COMMAND);
    expect(await page.getByLabel('Port', { exact: true }).inputValue()).toBe('8080');
    await check('launch-imported');
  }, 60_000);

  it('keeps an imported file\'s unknown fields in view with "did you mean", refuses to launch while they are there, and moves each where it was meant to be', async () => {
    await page.goto(`${origin}/launch?app=container`);
    await page.locator('#launch-form').waitFor();
    const typos = { app: 'container', name: 'typos', image: 'wharf/busybox:local', comand: 'sleep 600', routing: { mode: 'https', prot: 8080 } };
    await page.getByLabel('Import configuration (JSON)').setInputFiles({ name: 'typos.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(typos)) });
    const kept = page.getByRole('region', { name: /^Not in this form/ });
    await kept.waitFor();
    expect(await kept.locator('pre').allTextContents()).toEqual(['"sleep 600"', '8080']);
    await kept.getByText('comand: unknown field (did you mean command?)').waitFor();
    await kept.getByText('routing.prot: unknown field (did you mean routing.port?)').waitFor();
    expect(await page.locator('#import-file-error').textContent()).toContain('Launch is refused until each is used as the field it was meant to be or removed');
    await check('launch-unknown-fields');
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    await page.locator('.form-alert').filter({ hasText: 'Not launched: 2 fields need attention.' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/launch');

    await kept.getByRole('button', { name: 'Use as command' }).click();
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe('sleep 600');
    await kept.getByRole('button', { name: 'Use as routing.port' }).click();
    expect(await page.getByLabel('Port', { exact: true }).inputValue()).toBe('8080');
    expect(await kept.count()).toBe(0);
    expect(await page.locator('#launch-form [aria-invalid="true"]').count()).toBe(0);
  }, 60_000);

  it('clones it while it runs (a snapshot taken on the way), launches the clone, and stops both from their pages', async () => {
    await page.goto(`${origin}/instances/${id}`);
    await page.getByRole('link', { name: 'Clone' }).click();
    await page.waitForURL((u) => u.pathname === '/launch');
    // A running instance has no snapshot yet: the page offers to take one, then fills the form.
    await page.getByRole('button', { name: `Snapshot ${id} now` }).click();
    await until('the clone form is prefilled', async () => (await page.getByLabel('Name', { exact: true }).inputValue()) === 'dash flow', 60_000, 100);
    expect(await page.getByLabel('Restore from instance', { exact: true }).inputValue()).toBe(id);
    expect(await page.getByLabel('Command', { exact: true }).inputValue()).toBe(COMMAND);
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/instances/') && !u.pathname.endsWith(id));
    const clone = new URL(page.url()).pathname.split('/')[2];
    await until('the clone is active', async () => ((await statusText()) ?? '').includes('active'), 60_000, 100);
    expect(await page.locator('#restored-from').textContent()).toContain(id);
    await stop();
    await until('the clone stops', async () => ((await statusText()) ?? '').includes('stopped'), 60_000, 100);

    await page.locator('#restored-from').click();
    await page.waitForURL(`${origin}/instances/${id}`);
    await stop();
    await until('the original stops', async () => ((await statusText()) ?? '').includes('stopped'), 60_000, 100);
    const statuses = Object.fromEntries((await list()).map((i) => [i.id, i.status]));
    expect(statuses).toEqual({ [id]: 'stopped', [clone]: 'stopped' });
  }, 180_000);

  it('a stopped instance shows its last figures as such, no "now", no Connect link and no Open', async () => {
    // The original: traffic in the last hour, stopped by the test before.
    await page.goto(`${origin}/instances/${id}`);
    await until('the charts are filled', async () => Number(await page.locator('[data-metric="requests"]').getAttribute('data-latest')) >= 30, 30_000, 100);
    await until('the memory figure is there', async () => ((await page.locator('[data-metric="memory"]').getAttribute('data-latest')) ?? '') !== '', 30_000, 100);
    expect(await page.locator('#instance-status').textContent()).toContain('stopped');
    const figures = await page.locator('.chart .latest').allTextContents();
    expect(figures.filter((t) => /\bnow\b/.test(t)), figures.join(' | ')).toEqual([]);
    expect(await page.locator('[data-metric="memory"]').textContent()).toMatch(/^Last value: [\d.]+ (B|KiB|MiB|GiB) in use at \d\d:\d\d UTC$/);
    expect(await page.locator('[data-metric="cpu"]').textContent()).toMatch(/^Last value: [\d.]+% CPU at \d\d:\d\d UTC$/);
    const connect = page.getByRole('region', { name: 'Connect' });
    expect(await connect.locator('a, code').count()).toBe(0);
    expect(await connect.textContent()).toContain('No address: the app is stopped');
    expect(await page.getByRole('link', { name: /open app/i }).count()).toBe(0);
    expect(await page.locator('#open-note').textContent()).toContain('the app is stopped');
    await check('instance-stopped');
  }, 60_000);

  it('Open waits while an instance sets up (disabled, saying why), and goes once it is stopped', async () => {
    // Sleeps long before serving, so that it stays "setting up" until stopped.
    const file = join(home, 'slow.json');
    writeFileSync(file, JSON.stringify({ kind: 'wharf.app-config', version: 1, app: 'container', name: 'slow start', image: 'wharf/busybox:local', command: "sh -c 'sleep 600; exec httpd -f -p 8080'", routing: { mode: 'https', port: 8080 } }));
    const launched = await runWharf(['launch', '-f', file, '--json'], env());
    expect(launched.code, launched.stderr).toBe(0);
    const slow = (JSON.parse(launched.stdout) as Listed).id;
    await page.goto(`${origin}/instances/${slow}`);
    await until('it is setting up', async () => ((await statusText()) ?? '').includes('setting up'), 30_000, 50);
    const waiting = page.locator('#open-wait');
    expect(await waiting.isVisible()).toBe(true);
    expect(await waiting.isDisabled()).toBe(true);
    expect(await waiting.textContent()).toBe('Open app');
    expect(await page.getByRole('link', { name: /open app/i }).count()).toBe(0);
    expect(await page.locator('#open-note').textContent()).toBe('Opens once the app answers: setting up\u2026');
    // The idle clock is not running yet, and says so rather than "idle".
    expect(await page.locator('#idle-time').textContent()).toBe('not started yet');

    await stop();
    await until('it stops', async () => ((await statusText()) ?? '').includes('stopped'), 60_000, 100);
    await until('Open is gone, with the reason', async () => (await page.locator('#open-note').textContent())?.includes('the app is stopped') === true, 10_000, 50);
    expect(await waiting.isVisible()).toBe(false);
    expect(await page.getByRole('link', { name: /open app/i }).count()).toBe(0);
  }, 90_000);

  it('shows the instance list, and drains and resumes the agent from the agents page', async () => {
    await page.goto(`${origin}/`);
    await page.locator(`#instances tbody tr[data-id="${id}"]`).waitFor();
    await check('instances');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    await page.waitForURL(`${origin}/agents`);
    const agentRow = page.locator('#agents tbody tr[data-name]').first();
    await expect.poll(() => agentRow.locator('td[data-state]').getAttribute('data-state'), { timeout: 10_000 }).toBe('online');
    const name = (await agentRow.getAttribute('data-name'))!;
    await check('agents');

    await page.getByRole('button', { name: `Drain agent: ${name}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Drain agent' }).click();
    await expect.poll(() => agentRow.locator('td[data-drain]').getAttribute('data-drain'), { timeout: 10_000 }).not.toBe('none');
    expect(JSON.parse((await runWharf(['agents', 'ls', '--json'], env())).stdout)[0].drain).toBe(true);
    await page.getByRole('button', { name: `Resume agent: ${name}` }).click();
    await expect.poll(() => agentRow.locator('td[data-drain]').getAttribute('data-drain'), { timeout: 10_000 }).toBe('none');
    expect(JSON.parse((await runWharf(['agents', 'ls', '--json'], env())).stdout)[0].drain).toBe(false);
  }, 120_000);

  it('users: adds a user from the page, makes them an admin and removes them', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(`${origin}/users`);
    await page.locator('#users tbody tr[data-name="admin"]').waitFor();
    await page.getByLabel('User name', { exact: true }).fill('bob');
    await page.getByLabel('Password', { exact: true }).fill('bob-password-1');
    await page.getByLabel('Repeat password', { exact: true }).fill('bob-password-2');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('#user-add-error').filter({ hasText: 'do not match' }).waitFor();
    await page.getByLabel('Repeat password', { exact: true }).fill('bob-password-1');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.locator('#users tbody tr[data-name="bob"]').waitFor();
    await page.getByRole('button', { name: 'Make admin: bob' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Make admin' }).click();
    await page.getByRole('button', { name: 'Remove admin: bob' }).waitFor();
    const users = JSON.parse((await runWharf(['users', 'ls', '--json'], env())).stdout) as { name: string; admin: boolean }[];
    expect(users.find((u) => u.name === 'bob')?.admin).toBe(true);
    // One's own password is changed on the account page (it asks for the current one).
    expect(await page.locator('#users tbody tr[data-name="admin"]').getByRole('button', { name: /Set password|Remove user/ }).count()).toBe(0);
    await check('users');

    await page.getByRole('button', { name: 'Remove user: bob' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove user' }).click();
    await page.locator('#users tbody tr[data-name="bob"]').waitFor({ state: 'detached' });
    const left = JSON.parse((await runWharf(['users', 'ls', '--json'], env())).stdout) as { name: string }[];
    expect(left.map((u) => u.name)).toEqual(['admin']);
  }, 60_000);

  it('audit: lists what was just done, newest first, filters by action and links to the instance', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(`${origin}/audit`);
    const newest = page.locator('#audit tbody tr').first();
    await expect.poll(() => newest.getAttribute('data-action'), { timeout: 10_000 }).toBe('user.remove');
    expect(await newest.locator('td').nth(2).textContent()).toBe('bob');
    await check('audit');
    await page.getByLabel('Action', { exact: true }).fill('agent.drain');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${origin}/audit?action=agent.drain`);
    await expect.poll(() => page.locator('#audit tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')))).toEqual(['agent.drain']);
    await page.goto(`${origin}/audit?action=instance.launch`);
    await page.locator(`#audit tbody tr[data-action="instance.launch"] a[href="/instances/${id}"]`).click();
    await page.waitForURL(`${origin}/instances/${id}`);
  }, 60_000);

  it('sharing: shares the instance with a user from its page, makes them a viewer, and revokes', async () => {
    const added = await runWharf(['users', 'add', 'carol'], env(), 'carol-password-1\n');
    expect(added.code, added.stderr).toBe(0);
    await page.goto(`${origin}/instances/${id}`);
    await page.locator('#shares').waitFor();
    await page.locator('#share-user').fill('carol');
    await page.locator('#share-form').getByRole('button', { name: 'Share' }).click();
    const row = page.locator('#shares-list tr[data-user="carol"]');
    await row.waitFor();
    const shares = async () => JSON.parse((await runWharf(['share', id, '--json'], env())).stdout) as { user: string; role: string; by: string }[];
    expect(await shares()).toMatchObject([{ user: 'carol', role: 'user', by: 'admin' }]);
    await check('sharing');
    await page.getByLabel('Role of carol').selectOption('viewer');
    await page.getByRole('dialog').getByRole('button', { name: 'Make viewer' }).click();
    await expect.poll(async () => (await shares())[0]?.role, { timeout: 10_000 }).toBe('viewer');
    // carol, in a browser of her own, sees the instance but no Open, Stop, Clone or Sharing.
    const hers = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const carol = await hers.newPage();
      await carol.goto(`${origin}/instances/${id}`);
      await signIn(carol, 'carol-password-1', 'carol');
      await carol.waitForURL(`${origin}/instances/${id}`);
      await carol.locator('#open-note').filter({ hasText: 'Shared with you to view' }).waitFor();
      for (const control of ['#open', '#stop', '#clone', '#export', '#remove']) expect(await carol.locator(control).isHidden(), control).toBe(true);
      expect(await carol.locator('#shares').isHidden()).toBe(true);
    } finally {
      await hers.close();
    }
    await page.getByRole('button', { name: 'Revoke share: carol' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke share' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await shares()).toEqual([]);
  }, 60_000);

  it('projects: an admin creates a project and adds a member from the page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.waitForURL(`${origin}/projects`);
    await page.locator('#projects tr[data-project="Apps"]').waitFor();
    await page.locator('#project-name').fill('ML');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('button', { name: 'Manage members: ML' }).click();
    await page.locator('#members').waitFor();
    await page.locator('#member-user').fill('carol');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('#members tr[data-user="carol"]').waitFor();
    await check('projects');
    const members = JSON.parse((await runWharf(['projects', 'members', 'ML', '--json'], env())).stdout) as { user: string; role: string; by: string }[];
    expect(members).toMatchObject([{ user: 'carol', role: 'user', by: 'admin' }]);
  }, 60_000);

  it('account: an API token shown once works for the CLI until revoked; a changed password signs in', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.waitForURL(`${origin}/account`);
    await page.getByLabel('Token name', { exact: true }).fill('laptop');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.locator('#new-token-value').inputValue();
    expect(token.length).toBeGreaterThan(20);
    const withToken = { ...env(), WHARF_TOKEN: token };
    const listed = await runWharf(['ls', '--json'], withToken);
    expect(listed.code, listed.stderr).toBe(0);
    await check('account');

    await page.getByRole('button', { name: 'Revoke token: laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await until('the CLI is refused with the revoked token', async () => (await runWharf(['ls', '--json'], withToken)).code !== 0, 10_000, 200);

    // The current password is asked first: a wrong one changes nothing.
    await page.getByLabel('Current password', { exact: true }).fill('not-the-password');
    await page.getByLabel('New password', { exact: true }).fill('a-new-admin-password');
    await page.getByLabel('Repeat password', { exact: true }).fill('a-new-admin-password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.locator('#password-error').textContent(), { timeout: 10_000 }).toMatch(/current password is wrong/);
    await page.getByLabel('Current password', { exact: true }).fill(password);
    password = 'a-new-admin-password';
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('Repeat password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Password changed' }).count(), { timeout: 10_000 }).toBe(1);
  }, 60_000);

  it('an ended session goes to sign-in and comes back to the page the user was on', async () => {
    await page.goto(`${origin}/instances/${id}`);
    await page.locator('#instance-status').waitFor();
    // Signed out elsewhere: the page's live streams end, their reconnect is refused.
    await page.evaluate(async () => { await fetch('/api/v1/auth/logout', { method: 'POST' }); });
    await page.waitForURL((u) => u.pathname === '/signin', { timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('return')).toBe(`/instances/${id}`);
    await signIn(page, password);
    await page.waitForURL(`${origin}/instances/${id}`);
    await page.locator('#instance-status').waitFor();
    expect(axeProblems).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import WebSocket from 'ws';
import { openAppSocket } from '../support/app-websocket.ts';
import { execute, jupyterApi, JUPYTER } from '../support/jupyter.ts';
import { docker, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 7 "The Jupyter app", done when (first test): the Jupyter app launched with the CLI,
 * its browser link (`wharf open ID`) opened through the gateway over HTTPS in headless
 * Chromium; a notebook created in the UI, a cell run (the kernel talks over a WebSocket
 * through the gateway) and its output seen, the notebook saved in the workspace; the instance
 * stopped, cloned, and the notebook found restored in the clone.
 *
 * Issue 18, done when: two users in one project, one launches Jupyter, the other opens it
 * through the gateway and runs a cell; a user outside the project gets no token or tunnel;
 * removing the membership closes the second user's kernel WebSocket.
 */

const CELL = 'print(6 * 7)';

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The outputs' text of a saved notebook (contents API JSON). */
function outputsOf(notebook: any): string {
  return (notebook?.content?.cells ?? []).flatMap((c: any) => c.outputs ?? []).map((o: any) => [o.text ?? ''].flat().join('')).join('');
}

describe('jupyter: a notebook in the browser through the gateway, kept across stop and clone', () => {
  let stack: Stack;
  let browser: Browser | undefined;
  let source = '';
  let saved = '';

  beforeAll(async () => {
    expect((await docker('image', 'inspect', JUPYTER)).code, `${JUPYTER} is missing: images/build.sh jupyter`).toBe(0);
    stack = await startStack({ agentEnv: { WHARF_READINESS_TIMEOUT_S: '120' } });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('opens the browser link, creates a notebook, runs a cell over the kernel WebSocket and saves it', async () => {
    const view = await stack.launch({ app: 'jupyter', image: JUPYTER, name: 'notebook' });
    source = view.id;
    const active = await stack.waitFor(source, 'active', 120_000);
    expect(active.config).toMatchObject({ app: 'jupyter', project: 'Interactive Session' });
    expect(JSON.stringify(active)).not.toMatch(/token [0-9a-f]{64}/);

    const open = await stack.cli(['open', source]);
    expect(open.code, open.stderr).toBe(0);
    const link = open.stdout.trim();
    const host = `${source}.apps.localhost`;
    expect(new URL(link).hostname).toBe(host);

    browser = await launchBrowser({ trustSpki: [await gatewaySpki(stack.gateway.httpsPort, stack.gateway.ca, host)] });
    const context = await browser.newContext({ ignoreHTTPSErrors: false });
    const tree = await context.newPage();
    // The one-time link → cookie → Jupyter's file tree, logged in by the token the gateway adds.
    await tree.goto(link);
    await tree.waitForSelector('#new-dropdown-button', { timeout: 30_000 });
    expect(new URL(tree.url()).pathname).toBe('/tree');
    expect(tree.url()).not.toContain('wharf_token');

    // New → Python 3: Jupyter opens the notebook in a new tab.
    await tree.click('#new-dropdown-button');
    const [notebook] = await Promise.all([context.waitForEvent('page'), tree.click('#kernel-python3 a')]) as [Page, unknown];
    await notebook.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 60_000 });
    expect(new URL(notebook.url()).pathname).toMatch(/^\/notebooks\/Untitled\d*\.ipynb$/);
    saved = decodeURIComponent(new URL(notebook.url()).pathname.slice('/notebooks/'.length));
    // The page came over HTTP/2; the kernel's WebSocket below still opens over HTTP/1.1, since
    // the gateway does not announce WebSockets on HTTP/2 by default.
    expect(await notebook.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');

    await notebook.click('.cell.code_cell .CodeMirror');
    await notebook.keyboard.type(CELL);
    await notebook.keyboard.press('Shift+Enter');
    const output = notebook.locator('.output_area pre').first();
    await output.waitFor({ timeout: 30_000 });
    expect((await output.textContent())?.trim()).toBe('42');

    // Save (command mode, Ctrl-S), then the workspace has it, output and all.
    await notebook.keyboard.press('Escape');
    await notebook.keyboard.press('Control+s');
    const token = await stack.token(source);
    await until('the notebook is saved with its output', async () => {
      const r = await jupyterApi(stack, source, token, 'GET', `/api/contents/${encodeURIComponent(saved)}`);
      return r.status === 200 && outputsOf(r.json).includes('42');
    }, 30_000);
    const inWorkspace = await docker('exec', `wharf-${source}`, 'cat', `/root/workspace/${saved}`);
    expect(inWorkspace.stdout).toContain('print(6 * 7)');
    await context.close();
  }, 240_000);

  it('finds the notebook restored in a clone after a stop', async () => {
    expect(saved).not.toBe('');
    const stop = await stack.cli(['stop', source]);
    expect(stop.code, stop.stderr).toBe(0);
    await stack.waitFor(source, 'stopped', 60_000);

    const cloned = await stack.cli(['clone', source]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const config = JSON.parse(cloned.stdout);
    expect(config).toMatchObject({ app: 'jupyter', workspace: { restoreFrom: source } });
    const clone = await stack.launch(config);
    const active = await stack.waitFor(clone.id, 'active', 120_000);
    expect(active.restoredFrom).toBe(source);

    const token = await stack.token(clone.id);
    const r = await jupyterApi(stack, clone.id, token, 'GET', `/api/contents/${encodeURIComponent(saved)}`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.content.cells[0].source).toBe(CELL);
    expect(outputsOf(r.json)).toBe('42\n');

    // And the browser opens it in the clone.
    const host = `${clone.id}.apps.localhost`;
    const open = await stack.cli(['open', clone.id]);
    const other = await launchBrowser({ trustSpki: [await gatewaySpki(stack.gateway.httpsPort, stack.gateway.ca, host)] });
    try {
      const page = await other.newPage();
      await page.goto(open.stdout.trim());
      await page.waitForSelector('#notebook_list', { timeout: 30_000 });
      await page.waitForSelector(`#notebook_list a:has-text("${saved}")`, { timeout: 30_000 });
    } finally {
      await other.close();
    }
  }, 240_000);

  it('two members of a project: bob opens alice\'s notebook through the gateway and runs a cell; carol, outside, gets nothing; bob removed, his kernel socket closes', async () => {
    const [alice, bob, carol] = [await stack.addUser('alice'), await stack.addUser('bob'), await stack.addUser('carol')];
    for (const args of [['add', 'Lab', '--owner', 'alice'], ['members', 'add', 'Lab', 'bob']]) {
      const out = await stack.cli(['projects', ...args]);
      expect(out.code, out.stderr).toBe(0);
    }
    const view = await stack.launch({ app: 'jupyter', image: JUPYTER, name: 'shared notebook', project: 'Lab' }, alice.env);
    await stack.waitFor(view.id, 'active', 120_000);

    // carol, in no project: the API does not show it to her (404, not even its existence), and
    // she gets no token, link or tunnel.
    expect((await stack.cli(['show', view.id], carol.env)).stderr).toContain('CTL_NOT_FOUND');
    expect((await stack.cli(['token', view.id], carol.env)).stderr).toContain('CTL_NOT_FOUND');
    expect((await stack.cli(['connect', view.id], carol.env)).stderr).toContain('CTL_NOT_FOUND');

    // bob: his one-time link, exchanged at the gateway for an app cookie, then a kernel and a cell.
    const open = await stack.cli(['open', view.id], bob.env);
    expect(open.code, open.stderr).toBe(0);
    const link = new URL(open.stdout.trim());
    const exchanged = await stack.app(view.id, { path: link.pathname + link.search, headers: { accept: 'text/html' } });
    expect(exchanged.status, exchanged.body).toBe(303);
    const cookie = [exchanged.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-wharf_session='))!.split(';')[0];
    const kernel = await stack.app(view.id, { method: 'POST', path: '/api/kernels', headers: { cookie, accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'python3' }) });
    expect(kernel.status, kernel.body).toBe(201);
    const sockets: WebSocket[] = [];
    const socket = await openAppSocket(stack.gateway, `${view.id}.apps.localhost`, cookie, sockets, `/api/kernels/${JSON.parse(kernel.body).id}/channels`);
    try {
      expect(await execute(socket, 'print("bob ran", 6 * 7)')).toBe('bob ran 42\n');
      const removed = await stack.cli(['projects', 'members', 'rm', 'Lab', 'bob'], alice.env);
      expect(removed.code, removed.stderr).toBe(0);
      await until('the gateway closes bob\'s kernel WebSocket', async () => socket.readyState === WebSocket.CLOSED, 5_000);
      expect((await stack.app(view.id, { path: '/api/kernels', headers: { cookie, accept: 'application/json' } })).status).toBe(401);
    } finally {
      for (const s of sockets) s.terminate();
    }
    // alice's own access is untouched.
    expect((await jupyterApi(stack, view.id, await stack.token(view.id, alice.env), 'GET', '/api/kernels')).status).toBe(200);
    const stopped = await stack.cli(['stop', view.id], alice.env);
    expect(stopped.code, stopped.stderr).toBe(0);
  }, 240_000);
});

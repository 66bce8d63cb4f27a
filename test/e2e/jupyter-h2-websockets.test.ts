import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { jupyterApi, JUPYTER } from '../support/jupyter.ts';
import { docker, startStack, type Stack } from '../support/stack.ts';

// Issue 16: with `--h2-websockets` the gateway announces extended CONNECT (RFC 8441), and a
// browser opens the Jupyter kernel's WebSocket on the page's HTTP/2 connection; the gateway
// bridges it to an HTTP/1.1 upgrade to Jupyter, and a cell still runs. (Without the flag:
// jupyter-notebook.test.ts, where the page is h2 and the WebSocket HTTP/1.1.)
describe('jupyter with --h2-websockets: the kernel WebSocket on the page\'s HTTP/2 connection', () => {
  let stack: Stack;
  let browser: Browser | undefined;

  beforeAll(async () => {
    expect((await docker('image', 'inspect', JUPYTER)).code, `${JUPYTER} is missing: images/build.sh jupyter`).toBe(0);
    stack = await startStack({ agentEnv: { WHARF_READINESS_TIMEOUT_S: '120' }, gatewayArgs: ['--h2-websockets', '--access-log'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('runs a cell in a notebook whose kernel WebSocket is an HTTP/2 stream', async () => {
    const id = (await stack.launch({ app: 'jupyter', image: JUPYTER, name: 'h2ws' })).id;
    await stack.waitFor(id, 'active', 120_000);
    const token = await stack.token(id);
    const created = await jupyterApi(stack, id, token, 'POST', '/api/contents', { type: 'notebook' });
    expect(created.status, created.text).toBe(201);

    const open = await stack.cli(['open', id]);
    expect(open.code, open.stderr).toBe(0);
    const host = `${id}.apps.localhost`;
    browser = await launchBrowser({ trustSpki: [await gatewaySpki(stack.gateway.httpsPort, stack.gateway.ca, host)] });
    const page = await (await browser.newContext()).newPage();
    await page.goto(open.stdout.trim());
    await page.waitForSelector('#new-dropdown-button', { timeout: 30_000 });
    await page.goto(`https://${host}:${stack.gateway.httpsPort}/notebooks/${encodeURIComponent(created.json.path)}`);
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 60_000 });
    expect(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');

    await page.click('.cell.code_cell .CodeMirror');
    await page.keyboard.type('print(6 * 7)');
    await page.keyboard.press('Shift+Enter');
    const output = page.locator('.output_area pre').first();
    await output.waitFor({ timeout: 30_000 });
    expect((await output.textContent())?.trim()).toBe('42');

    // The gateway's access log: the kernel channels WebSocket came as an HTTP/2 stream.
    const sockets = stack.gateway.output().split('\n').filter((l) => l.includes('"msg":"websocket"') && l.includes('/channels')).map((l) => JSON.parse(l) as { http: string });
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.map((l) => l.http)).toContain('2.0');
    expect(sockets.filter((l) => l.http !== '2.0')).toEqual([]);
  }, 240_000);
});

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { jupyterApi, JUPYTER } from '../support/jupyter.ts';
import { docker, startStack, type InstanceView, type Stack, type StackUser } from '../support/stack.ts';
import { metric } from '../support/tcp.ts';

/*
 * Issue 14 §1, the attack exactly as it was found, in headless Chromium with two ordinary
 * users: bob sends alice a link to his own app; its page makes her browser POST to her
 * Jupyter's /api/terminals and open the terminal's WebSocket, riding on her app cookie, and
 * POST to another app of hers. On the unprotected gateway the terminal runs bob's command as
 * root in alice's container; now every one of those requests is refused at the gateway
 * (403 GW_CROSS_SITE), and alice's own use of her Jupyter (terminals included) still works.
 */

/** Bob's page: the target origins come in the fragment (kept across the link's redirects). */
const ATTACK_PAGE = `<!doctype html><meta charset="utf-8"><title>bob's page</title><pre id="out">running</pre>
<script>
(async () => {
  const [jupyter, plain] = location.hash.slice(1).split(',');
  const result = {};
  try { await fetch(jupyter + '/api/terminals', { method: 'POST', mode: 'no-cors', credentials: 'include' }); result.terminalPost = 'sent'; }
  catch (e) { result.terminalPost = 'failed'; }
  try { await fetch(plain + '/submit', { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'x=1' }); result.plainPost = 'sent'; }
  catch (e) { result.plainPost = 'failed'; }
  result.socket = await new Promise((resolve) => {
    const ws = new WebSocket(jupyter.replace('https:', 'wss:') + '/terminals/websocket/1');
    let output = '';
    ws.onopen = () => ws.send(JSON.stringify(['stdin', 'id; touch /tmp/pwned-by-bob\\r']));
    ws.onmessage = (m) => { output += m.data; if (output.includes('uid=')) resolve('ran: ' + output); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve(output ? 'opened: ' + output : 'no answer'), 8000);
  });
  document.getElementById('out').textContent = JSON.stringify(result);
  document.title = 'done';
})();
</script>`;

describe('one app page cannot act on another user\'s app with the visitor\'s cookie (Chromium, two users)', () => {
  let stack: Stack;
  let browser: Browser | undefined;
  let alice: StackUser;
  let bob: StackUser;
  let jupyter: InstanceView;
  let plain: InstanceView;
  let trap: InstanceView;

  const origin = (view: InstanceView) => `https://${view.id}.apps.localhost:${stack.gateway.httpsPort}`;
  const link = async (id: string, user: Record<string, string>): Promise<string> => {
    const out = await stack.cli(['open', id], user);
    expect(out.code, out.stderr).toBe(0);
    return out.stdout.trim();
  };
  const refusedOn = async (route: string) => (await metric(stack.gateway.adminPort, 'wharf_gateway_requests_total', { route, code: '403' })) ?? 0;

  beforeAll(async () => {
    expect((await docker('image', 'inspect', JUPYTER)).code, `${JUPYTER} is missing: images/build.sh jupyter`).toBe(0);
    stack = await startStack({ agentEnv: { WHARF_READINESS_TIMEOUT_S: '120' } });
    alice = await stack.addUser('alice');
    bob = await stack.addUser('bob');
    jupyter = await stack.launch({ app: 'jupyter', image: JUPYTER, name: 'alice notebook' }, alice.env);
    plain = await stack.launch({ name: 'alice site', command: "sh -c 'mkdir -p /www && echo alice > /www/index.html && exec httpd -f -p 8080 -h /www'", routing: { mode: 'https', port: 8080 } }, alice.env);
    trap = await stack.launch({
      name: 'bob page', command: 'httpd -f -p 8080 -h /www', routing: { mode: 'https', port: 8080 },
      files: [{ path: '/www/index.html', content: ATTACK_PAGE, mode: '0644' }],
    }, bob.env);
    await stack.waitFor(plain.id, 'active', 60_000);
    await stack.waitFor(trap.id, 'active', 60_000);
    await stack.waitFor(jupyter.id, 'active', 120_000);
    const hosts = [jupyter, plain, trap].map((v) => `${v.id}.apps.localhost`);
    const spki = await gatewaySpki(stack.gateway.httpsPort, stack.gateway.ca, hosts[0]);
    browser = await launchBrowser({ trustSpki: [spki] });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Alice's browser, signed in to both of her apps through their one-time links. */
  async function alicesBrowser(): Promise<{ context: BrowserContext; notebook: Page }> {
    const context = await browser!.newContext();
    const notebook = await context.newPage();
    await notebook.goto(await link(jupyter.id, alice.env));
    await notebook.waitForSelector('#new-dropdown-button', { timeout: 30_000 });
    const site = await context.newPage();
    await site.goto(await link(plain.id, alice.env));
    expect((await site.textContent('body'))?.trim()).toBe('alice');
    await site.close();
    return { context, notebook };
  }

  it("refuses bob's page POSTing to alice's Jupyter and her plain app and opening her terminal", async () => {
    const { context } = await alicesBrowser();
    const before = { jupyter: await refusedOn(jupyter.id), plain: await refusedOn(plain.id) };

    // Bob's link, opened by alice: a one-time link works for whoever opens it.
    const page = await context.newPage();
    await page.goto(`${await link(trap.id, bob.env)}#${origin(jupyter)},${origin(plain)}`);
    await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 30_000 });
    const result = JSON.parse((await page.textContent('#out'))!) as Record<string, string>;

    expect(result.socket, JSON.stringify(result)).toBe('refused');
    // no-cors hides the answer from the page; the gateway's own count shows what it did.
    expect(await refusedOn(jupyter.id)).toBeGreaterThanOrEqual(before.jupyter + 2); // the POST and the handshake
    expect(await refusedOn(plain.id)).toBeGreaterThanOrEqual(before.plain + 1);
    // Nothing reached alice's Jupyter: no terminal was made, no command ran.
    const token = (await stack.cli(['token', jupyter.id], alice.env)).stdout.trim();
    const terminals = await jupyterApi(stack, jupyter.id, token, 'GET', '/api/terminals');
    expect(terminals.status, terminals.text).toBe(200);
    expect(terminals.json).toEqual([]);
    expect((await docker('exec', `wharf-${jupyter.id}`, 'test', '-e', '/tmp/pwned-by-bob')).code).not.toBe(0);
    await context.close();
  });

  it('keeps alice\'s own Jupyter working: its pages make a terminal and run a command over its WebSocket', async () => {
    const { context, notebook } = await alicesBrowser();
    const output = await notebook.evaluate(async () => {
      const xsrf = document.cookie.match(/_xsrf=([^;]+)/)?.[1] ?? '';
      const made = await fetch('/api/terminals', { method: 'POST', headers: { 'X-XSRFToken': xsrf } });
      if (made.status !== 200) return `POST /api/terminals: ${made.status}`;
      const { name } = (await made.json()) as { name: string };
      return new Promise<string>((resolve) => {
        const ws = new WebSocket(`wss://${location.host}/terminals/websocket/${name}`);
        let out = '';
        ws.onopen = () => ws.send(JSON.stringify(['stdin', 'echo "own-$((6*7))"\r']));
        ws.onmessage = (m) => { out += m.data; if (out.includes('own-42')) { ws.close(); resolve('own-42'); } };
        ws.onerror = () => resolve(`socket error after: ${out}`);
        setTimeout(() => resolve(`no answer: ${out}`), 15_000);
      });
    });
    expect(output).toBe('own-42');
    await context.close();
  });
});

import type { Browser, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Real processes and Docker (test/support/stack.ts) and a real Chromium. An app that takes
 * seconds to answer (a clone restoring its workspace, here `sleep`) is opened while it is still
 * starting: control streams a starting route as soon as the agent leases it, so the gateway,
 * after exchanging the one-time link for its cookie, answers 503 GW_ROUTE_STARTING with
 * Retry-After, and a browser gets a page that reloads itself until the app answers. The used
 * link opened again goes to the clean address (cookie) or through control's hand-off (none).
 */
const SLOW_APP = {
  name: 'slow starter',
  command: "sh -c 'sleep 10; exec httpd -f -p 8080 -h /www'",
  files: [{ path: '/www/index.html', content: '<!doctype html><title>slow</title><p id="app">the slow app answers</p>\n' }],
  routing: { mode: 'https', port: 8080 },
};

describe('opening an app that is still starting', () => {
  let stack: Stack;
  let browser: Browser;
  let id: string;
  /** The one-time link the browser opened, and the app's address without it. */
  let link: URL;
  let clean: string;

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchBrowser({ trustSpki: [await gatewaySpki(stack.gateway.httpsPort, stack.gateway.ca, 'x.apps.localhost')] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('answers a JSON client 503 GW_ROUTE_STARTING with Retry-After while the app starts', async () => {
    id = (await stack.launch(SLOW_APP)).id;
    await stack.waitFor(id, 'starting');
    // An API token and a one-time browser link in one answer: the app gives the test ten seconds.
    const answer = (await stack.api('POST', `/api/v1/instances/${id}/token`, {})).json as { token: string; link: string };
    const token = answer.token;
    link = new URL(answer.link);
    clean = `${link.origin}${link.pathname}`;
    // Control streams the route when the job is leased; the gateway hears of it a moment later.
    await until('the gateway knows the starting app', async () => (await stack.appGet(id, token)).status !== 404, 10_000);
    const reply = await stack.appGet(id, token);
    expect(reply.status).toBe(503);
    expect(reply.headers['x-wharf-error']).toBe('GW_ROUTE_STARTING');
    expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(reply.body).error.code).toBe('GW_ROUTE_STARTING');
    // Still unauthenticated callers get the usual 401, not a hint that the app exists.
    expect((await stack.appGet(id, undefined)).status).toBe(401);
  });

  it('takes a browser from the one-time link to the app by itself, through the self-reloading page', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: false });
    const page = await context.newPage();
    const answers: Response[] = [];
    page.on('response', (r) => answers.push(r));
    const first = await page.goto(link.href);
    // The link was exchanged first (it left the address), then the app was still setting up.
    expect(first?.status()).toBe(503);
    expect(first?.headers()['x-wharf-error']).toBe('GW_ROUTE_STARTING');
    expect(page.url()).toBe(clean);
    expect(await page.textContent('h1')).toBe('Setting up');
    // No click: the page reloads itself until the app answers in its place.
    await page.waitForSelector('#app', { timeout: 60_000 });
    expect(await page.textContent('#app')).toBe('the slow app answers');
    expect(page.url()).toBe(clean);
    expect(answers.filter((r) => r.url() === clean && r.status() === 503).length).toBeGreaterThanOrEqual(1);
    expect(answers.some((r) => r.url() === clean && r.status() === 200)).toBe(true);
    expect((await stack.api('GET', `/api/v1/instances/${id}`)).json.status).toBe('active');

    // The same link again (browser back, a reload, a bookmark) in that browser: the app, at the clean address.
    const again = await page.goto(link.href);
    expect(again?.status()).toBe(200);
    expect(page.url()).toBe(clean);
    expect(await page.textContent('#app')).toBe('the slow app answers');
    await context.close();
  }, 90_000);

  /** A fresh one-time link to the (active) app, opened once as a browser does: the link and the cookie it gave. */
  const usedLink = async (): Promise<{ used: URL; cookie: string }> => {
    await stack.waitFor(id, 'active', 60_000);
    const used = new URL((await stack.api('POST', `/api/v1/instances/${id}/token`, {})).json.link as string);
    const first = await stack.app(id, { host: used.host, path: used.pathname + used.search, headers: { accept: 'text/html' } });
    expect(first.status).toBe(303);
    const cookie = (first.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).find((c) => c.startsWith('__Host-wharf_session='));
    expect(cookie).toBeDefined();
    return { used, cookie: cookie! };
  };

  it('sends a used link with the app cookie to the clean address (303), keeping the cookie', async () => {
    const { used, cookie } = await usedLink();
    const reply = await stack.app(id, { host: used.host, path: used.pathname + used.search, headers: { accept: 'text/html', cookie } });
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/');
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  it('sends a used link without a cookie through control\'s sign-in hand-off for a fresh link', async () => {
    const { used } = await usedLink();
    // Host as a browser sends it (with the port): the return address is built from it.
    const reply = await stack.app(id, { host: used.host, path: used.pathname + used.search, headers: { accept: 'text/html' } });
    expect(reply.status).toBe(303);
    const handOff = new URL(reply.headers.location!);
    expect(handOff.origin).toBe(`https://localhost:${stack.gateway.httpsPort}`);
    expect(handOff.pathname).toBe('/auth/app');
    expect(handOff.searchParams.get('instance')).toBe(id);
    // The spent token is not carried along: control adds a fresh one.
    expect(handOff.searchParams.get('return')).toBe(`${used.origin}/`);
    // A program (no HTML) still hears why.
    const json = await stack.app(id, { host: used.host, path: used.pathname + used.search, headers: { accept: 'application/json' } });
    expect(json.status).toBe(401);
    expect(json.headers['x-wharf-error']).toBe('GW_LINK_USED');
  });

  it('drops the starting route of an app stopped before it was ready: its address is unknown again', async () => {
    const other = (await stack.launch({ ...SLOW_APP, command: "sh -c 'sleep 600'" })).id;
    await stack.waitFor(other, 'starting');
    const token = (await stack.api('POST', `/api/v1/instances/${other}/token`, {})).json.token as string;
    await until('the gateway knows the starting app', async () => (await stack.appGet(other, token)).status === 503, 10_000);
    expect((await stack.api('POST', `/api/v1/instances/${other}/stop`)).status).toBe(200);
    await until('the starting route is gone', async () => (await stack.appGet(other, token)).status === 404, 20_000);
    expect((await stack.appGet(other, token)).headers['x-wharf-error']).toBe('GW_ROUTE_NOT_FOUND');
  }, 60_000);
});

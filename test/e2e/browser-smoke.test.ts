import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewaySpki, launchBrowser } from '../support/browser.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

// Headless Chromium through the real gateway: *.apps.localhost resolves to loopback in the
// browser, TLS is checked against the one key the gateway serves (see test/support/browser.ts).
describe('a browser through the gateway', () => {
  let gw: GatewayProcess;
  let upstream: Upstream;
  let browser: Browser | undefined;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url !== '/') return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>smoke</title><p id="hello">hello from the upstream</p>');
      return true;
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-browser-'));
    writeFileSync(join(dir, 'routes.json'), JSON.stringify({ routes: [{ id: 'smoke', target: upstream.url, public: true }] }));
    gw = await startGateway({ args: ['--routes', join(dir, 'routes.json')] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await upstream?.close();
  });

  it('opens a public route over HTTPS and reads the page', async () => {
    const host = 'smoke.apps.localhost';
    browser = await launchBrowser({ trustSpki: [await gatewaySpki(gw.httpsPort, gw.ca, host)] });
    const context = await browser.newContext({ ignoreHTTPSErrors: false });
    const page = await context.newPage();
    const response = await page.goto(`https://${host}:${gw.httpsPort}/`);
    expect(response?.status()).toBe(200);
    expect(await page.textContent('#hello')).toBe('hello from the upstream');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    // The gateway offers HTTP/2 by ALPN, and the browser takes it.
    expect(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');
    const seen = upstream.seen.find((r) => r.url === '/');
    expect(seen?.headers.host).toBe(`${host}:${gw.httpsPort}`);
    expect(seen?.headers['x-forwarded-proto']).toBe('https');
    await context.close();
  });

  it('refuses the gateway when its key is not the trusted one', async () => {
    const other = await launchBrowser({ trustSpki: ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] });
    try {
      const page = await other.newPage();
      await expect(page.goto(`https://smoke.apps.localhost:${gw.httpsPort}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await other.close();
    }
  });
});

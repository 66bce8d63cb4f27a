import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isForeignRequest, mayRedirectToSignIn } from './request-origin.ts';

const req = (method: string, headers: Record<string, string>) =>
  ({ method, headers: { host: 'alice.apps.localhost:8443', ...headers } }) as unknown as IncomingMessage;
const fetchMeta = (site: string, mode: string, dest: string) => ({ 'sec-fetch-site': site, 'sec-fetch-mode': mode, 'sec-fetch-dest': dest });

describe('isForeignRequest', () => {
  it("lets the app's own pages and typed addresses through, whatever the method", () => {
    expect(isForeignRequest(req('POST', fetchMeta('same-origin', 'cors', 'empty')), false)).toBe(false);
    expect(isForeignRequest(req('GET', fetchMeta('same-origin', 'websocket', 'websocket')), true)).toBe(false);
    expect(isForeignRequest(req('GET', fetchMeta('none', 'navigate', 'document')), false)).toBe(false);
  });

  it('refuses what a sibling app or another site makes the browser send', () => {
    for (const site of ['same-site', 'cross-site']) {
      expect(isForeignRequest(req('POST', fetchMeta(site, 'no-cors', 'empty')), false)).toBe(true);
      expect(isForeignRequest(req('GET', fetchMeta(site, 'websocket', 'websocket')), true)).toBe(true);
      expect(isForeignRequest(req('GET', fetchMeta(site, 'no-cors', 'image')), false)).toBe(true);
      expect(isForeignRequest(req('GET', fetchMeta(site, 'navigate', 'iframe')), false)).toBe(true);
      // A form posted to the top window is a navigation, but an unsafe one.
      expect(isForeignRequest(req('POST', fetchMeta(site, 'navigate', 'document')), false)).toBe(true);
    }
  });

  it('lets a top-level navigation from elsewhere through (a link the person followed)', () => {
    expect(isForeignRequest(req('GET', fetchMeta('same-site', 'navigate', 'document')), false)).toBe(false);
    expect(isForeignRequest(req('HEAD', fetchMeta('cross-site', 'navigate', 'document')), false)).toBe(false);
  });

  it('falls back to Origin for clients without Fetch Metadata', () => {
    expect(isForeignRequest(req('POST', { origin: 'https://bob.apps.localhost:8443' }), false)).toBe(true);
    expect(isForeignRequest(req('GET', { origin: 'null' }), true)).toBe(true);
    expect(isForeignRequest(req('POST', { origin: 'https://Alice.apps.localhost:8443' }), false)).toBe(false);
    // Programs (curl, the CLI, notebooks' API clients) send neither header.
    expect(isForeignRequest(req('POST', {}), false)).toBe(false);
    expect(isForeignRequest(req('GET', {}), true)).toBe(false);
  });
});

describe('mayRedirectToSignIn', () => {
  it('sends only a top-level navigation to sign in', () => {
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('none', 'navigate', 'document'), accept: 'text/html' }))).toBe(true);
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('cross-site', 'navigate', 'document'), accept: 'text/html' }))).toBe(true);
  });

  it("answers a page's fetch, event stream, WebSocket or frame with 401, whatever it accepts", () => {
    // A fetch asking for HTML (a partial page) is still not a navigation.
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('same-origin', 'cors', 'empty'), accept: 'text/html' }))).toBe(false);
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('same-origin', 'cors', 'empty'), accept: 'text/event-stream' }))).toBe(false);
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('same-origin', 'websocket', 'websocket'), accept: '*/*' }))).toBe(false);
    expect(mayRedirectToSignIn(req('GET', { ...fetchMeta('same-origin', 'navigate', 'iframe'), accept: 'text/html' }))).toBe(false);
  });

  it('falls back to Accept for clients without Fetch Metadata', () => {
    expect(mayRedirectToSignIn(req('GET', { accept: 'text/html,application/xhtml+xml' }))).toBe(true);
    expect(mayRedirectToSignIn(req('GET', { accept: 'application/json' }))).toBe(false);
    expect(mayRedirectToSignIn(req('GET', {}))).toBe(false);
  });
});

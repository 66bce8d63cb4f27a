import { api, SignedOut } from './api.ts';

/*
 * Server-sent events from control (same origin, the sign-in cookie). EventSource reconnects by
 * itself (and sends Last-Event-ID); it cannot see a 401, so after an error the session is
 * checked once, which sends the browser to sign-in when it has expired.
 */

export interface Follow { close(): void }

export function follow(url: string, handlers: Record<string, (data: unknown, id: string) => void>, onTrouble?: (message: string | null) => void): Follow {
  const source = new EventSource(url, { withCredentials: false });
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (e) => {
      const message = e as MessageEvent<string>;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        return; // a line we cannot read is skipped rather than breaking the page
      }
      handle(data, message.lastEventId);
    });
  }
  source.addEventListener('open', () => onTrouble?.(null));
  source.addEventListener('error', () => {
    onTrouble?.('The live connection to Wharf was lost; reconnecting…');
    api('/api/v1/auth/me').catch((err) => {
      if (err instanceof SignedOut) source.close();
    });
  });
  return { close: () => source.close() };
}

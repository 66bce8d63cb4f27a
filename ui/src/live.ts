import { api, ApiError, SignedOut } from './api.ts';

/*
 * Server-sent events from control (same origin, the sign-in cookie).
 *
 * EventSource reconnects by itself after a dropped stream (sending Last-Event-ID), but gives
 * up for good when a reconnect is answered with anything but a 200 stream: a 502 from the
 * gateway while control restarts, a 401 once the session ended, a 404 for an instance that is
 * gone. It cannot see which, so the same request is then made without `follow=1`: a 401 sends
 * the browser to sign-in (api.ts), another 4xx is final (said once, and `onRefused`), anything
 * else (control away) is tried again every RETRY_MS, and a good answer opens the stream anew,
 * resuming after the last event id where the endpoint takes one (`resumeParam`).
 */

export const RETRY_MS = 3_000;
const LOST = 'The live connection to Wharf was lost; reconnecting…';

export interface Follow { close(): void }

export interface FollowOptions {
  /** The query parameter that resumes after an event id (the console's `since`). */
  resumeParam?: string;
  /** Control refused the stream for good (a 4xx other than 401): the page may say why. */
  onRefused?: (err: ApiError) => void;
}

/** `url` with `name` set to `value` (or removed when value is undefined). */
export function withParam(url: string, name: string, value: string | undefined): string {
  const u = new URL(url, 'http://x');
  if (value === undefined) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.pathname + u.search;
}

export function follow(
  url: string,
  handlers: Record<string, (data: unknown, id: string) => void>,
  onTrouble?: (message: string | null) => void,
  options: FollowOptions = {},
): Follow {
  let source: EventSource | undefined;
  let closed = false;
  let lastId: string | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  // Said only when it changes: a live region repeating the same words every retry is noise.
  let said: string | null | undefined;
  const trouble = (message: string | null) => {
    if (message === said) return;
    said = message;
    onTrouble?.(message);
  };

  const open = () => {
    const target = options.resumeParam && lastId !== undefined ? withParam(url, options.resumeParam, lastId) : url;
    const s = new EventSource(target);
    source = s;
    for (const [event, handle] of Object.entries(handlers)) {
      s.addEventListener(event, (e) => {
        const message = e as MessageEvent<string>;
        if (message.lastEventId) lastId = message.lastEventId;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          return; // a line we cannot read is skipped rather than breaking the page
        }
        handle(data, message.lastEventId);
      });
    }
    s.addEventListener('open', () => trouble(null));
    s.addEventListener('error', () => {
      trouble(LOST);
      if (s.readyState === EventSource.CLOSED) {
        s.close();
        void check(); // at once: an ended session should reach sign-in without a pause
      }
    });
  };

  /** Asks the same question without following, to learn why the stream was refused. */
  const check = async () => {
    if (closed) return;
    try {
      await api(withParam(url, 'follow', undefined));
      if (!closed) open();
    } catch (err) {
      if (closed || err instanceof SignedOut) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        trouble(`Live updates stopped: ${err.message}`);
        options.onRefused?.(err);
        return;
      }
      retry = setTimeout(() => void check(), RETRY_MS);
    }
  };

  open();
  return {
    close: () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
    },
  };
}

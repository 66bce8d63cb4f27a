/*
 * The dashboard's one way to call control: same-origin fetch with the `wharf_console` cookie.
 * A 401 means the session expired or was revoked: the browser goes to sign-in, which comes
 * back to the page it was on.
 */

/**
 * A failure control answered: `{"error": {code, status, message, field?}}` (control/api/errors.ts);
 * `field` names the invalid config field of a validation error (`routing.port`).
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field?: string;
  /** Every mistake of an invalid body (`{"error": {…, errors: [{field, message, suggestion?}]}}`). */
  errors?: { field: string; message: string; suggestion?: string }[];
  constructor(code: string, status: number, message: string, field?: string) {
    super(message);
    this.code = code;
    this.status = status;
    if (field) this.field = field;
  }
}

/** Words for a failure; control's messages name the field and say what to do. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  // fetch rejects with a TypeError when the network or control is down.
  if (err instanceof TypeError) return 'Cannot reach Wharf; check the connection and try again.';
  return err instanceof Error ? err.message : String(err);
}

/** Thrown after the browser was sent to sign-in: callers stop what they were doing. */
export class SignedOut extends Error {}

/** `/signin?return=<path>`: back to `path` (this host only) once signed in. */
export function signinHref(path: string): string {
  return `/signin?return=${encodeURIComponent(path).replaceAll('%2F', '/')}`;
}

let leaving = false;
// A page shown again from the back/forward cache has not left: it may leave again.
globalThis.addEventListener?.('pageshow', (e) => { if ((e as PageTransitionEvent).persisted) leaving = false; });

/**
 * Leaves the page for `href`, once. A page has several requests and streams in flight when a
 * session ends, and each may learn it: a second `location.assign` would abort the first.
 */
export function leaveFor(href: string): void {
  if (leaving) return;
  leaving = true;
  location.assign(href);
}

export function goToSignin(): never {
  leaveFor(signinHref(location.pathname + location.search + location.hash));
  throw new SignedOut('signed out');
}

export interface ApiInit {
  method?: string;
  body?: unknown;
  /**
   * A request the user did not ask for (a check while typing): a 401 is an ApiError like any
   * other, rather than a trip to sign-in that would take the page away from under them.
   */
  background?: boolean;
}

export async function api<T>(path: string, init: ApiInit = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (res.status === 401 && !init.background) goToSignin();
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string; field?: unknown } } | undefined)?.error;
    const field = typeof error?.field === 'string' ? error.field : undefined;
    const failed = new ApiError(error?.code ?? res.headers.get('x-wharf-error') ?? 'HTTP', res.status, error?.message ?? `${res.status} ${res.statusText}`, field);
    const errors = (error as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(errors)) failed.errors = errors.filter((e) => typeof e?.field === 'string' && typeof e?.message === 'string');
    throw failed;
  }
  return json as T;
}

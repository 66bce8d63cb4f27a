/*
 * The dashboard's one way to call control: same-origin fetch with the `wharf_console` cookie.
 * A 401 means the session expired or was revoked: the browser goes to sign-in, which comes
 * back to the page it was on.
 */

/** A failure control answered: `{"error": {code, status, message}}` (control/api/errors.ts). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Thrown after the browser was sent to sign-in: callers stop what they were doing. */
export class SignedOut extends Error {}

/** `/signin?return=<path>`: back to `path` (this host only) once signed in. */
export function signinHref(path: string): string {
  return `/signin?return=${encodeURIComponent(path).replaceAll('%2F', '/')}`;
}

export function goToSignin(): never {
  location.assign(signinHref(location.pathname + location.search + location.hash));
  throw new SignedOut('signed out');
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (res.status === 401) goToSignin();
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(error?.code ?? res.headers.get('x-wharf-error') ?? 'HTTP', res.status, error?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

/*
 * Every error control answers with (STYLE.md: one registry per part). The code goes out in
 * the JSON body and as `X-Wharf-Error`; tests assert the code, never the wording. `message`
 * tells the person or program what to do; a thrown ControlError may add a detail.
 */

interface ErrorSpec {
  status: number;
  message: string;
}

export const controlErrors = {
  CTL_ILLEGAL_TRANSITION: { status: 409, message: 'This status change is not allowed from the instance\'s current status (see the status table in DESIGN.md).' },
  CTL_LEASE_EXPIRED: { status: 409, message: 'This agent no longer holds the job: its lease expired or the instance was given to another agent. Remove the container.' },
  CTL_REASON_REQUIRED: { status: 400, message: 'A failure needs a reason (bad image, exit code, snapshot upload failure, …).' },
  CTL_NO_SNAPSHOT: { status: 409, message: 'There is no snapshot to restore from: an instance has one once it has been stopped after running. Set workspace.restoreFrom to null, or pick an instance of yours that has a snapshot.' },
  CTL_SNAPSHOT_TOO_LARGE: { status: 413, message: 'The snapshot is over control\'s size limit (WHARF_SNAPSHOT_MAX_BYTES); the previous snapshot is kept. Exclude large paths (workspace.exclude) or ask an admin to raise the limit.' },
  CTL_SNAPSHOT_STORE_FULL: { status: 507, message: 'Control\'s snapshot store (WHARF_HOME/snapshots) is out of disk space; nothing was stored and the previous snapshot is kept. An admin frees space there (or deletes old snapshots: `wharf snapshots rm ID`), then snapshot again.' },
  CTL_SNAPSHOT_CHECKSUM: { status: 422, message: 'The snapshot\'s bytes do not match the sha256 announced in X-Wharf-Sha256; nothing was stored and the previous snapshot is kept. Upload it again.' },
  CTL_NOT_FOUND: { status: 404, message: 'No such object. Check the id, or list what exists.' },
  CTL_LAST_ADMIN: { status: 409, message: 'Wharf keeps at least one admin. Make another user an admin first (`wharf users admin NAME`).' },
  CTL_USER_EXISTS: { status: 409, message: 'A user with this name exists already. Pick another name, or change that user\'s password.' },
  CTL_PROJECT_EXISTS: { status: 409, message: 'A project with this name exists already. Pick another name, or add members to that one.' },
  CTL_INVALID: { status: 400, message: 'The request is not valid. The message names what to fix.' },
  CTL_UNAUTHENTICATED: { status: 401, message: 'Send `Authorization: Bearer <api token>`. The CLI reads WHARF_TOKEN, else WHARF_HOME/admin.token; create a token with `wharf tokens create NAME`.' },
  CTL_FORBIDDEN: { status: 403, message: 'Only an admin may do this. Ask an admin, or use an admin\'s token.' },
  CTL_BAD_ORIGIN: { status: 403, message: 'A request signed in by the dashboard cookie must come from the dashboard itself: its Origin must be the public URL\'s. Scripts should send `Authorization: Bearer <api token>` instead.' },
  CTL_BAD_RETURN: { status: 400, message: '`return` must be a URL on the instance\'s own host (<id>.<apps domain>, with the public port), or a path on this host for sign-in.' },
  CTL_BAD_LOGIN: { status: 401, message: 'The user name or password is wrong.' },
  CTL_PASSWORDS_OFF: { status: 403, message: 'Password sign-in is off here: sign in with the identity provider.' },
  CTL_TOO_MANY_SIGNINS: { status: 429, message: 'Too many failed sign-ins from this address. Wait the seconds Retry-After gives, then try again. Forgot the password? An admin can set a new one (`wharf users passwd NAME`).' },
  CTL_WRONG_PASSWORD: { status: 403, message: 'The current password is wrong, so the password was not changed. Type your current password again (an admin can set a new one for you).' },
  CTL_LINK_USED: { status: 409, message: 'This one-time link has been used already. Open the app again from the dashboard for a fresh link.' },
  CTL_GATEWAY_KEY: { status: 401, message: 'This gateway key is not accepted. Create one with `wharf gateways add NAME` and set WHARF_GATEWAY_KEY.' },
  CTL_AGENT_KEY: { status: 401, message: 'This agent is not accepted. Send `Authorization: Bearer <WHARF_AGENT_KEY>:<WHARF_AGENT_SECRET>` as printed by `wharf agents add NAME`.' },
  CTL_TCP_PORT_TAKEN: { status: 409, message: 'Another instance holds this gateway port; control picks another. Report the endpoint again.' },
  CTL_NO_TCP_PORT: { status: 503, message: 'Every port of control\'s TCP range is pinned to a running instance. Widen the range (--tcp-ports) or stop TCP apps.' },
  CTL_METHOD: { status: 405, message: 'This endpoint does not take that method.' },
  CTL_SHUTTING_DOWN: { status: 503, message: 'Control is shutting down; try again shortly.' },
  CTL_INTERNAL: { status: 500, message: 'Control hit an unexpected error; it has been logged.' },
  CTL_STORE_TOO_NEW: { status: 500, message: 'The database was written by a newer Wharf. Upgrade Wharf, or point WHARF_HOME (or --store) at another database.' },
  CTL_STORE_MIGRATION: { status: 500, message: 'The database could not be upgraded; it was left as it was. See the log for the failing step.' },
  CTL_STORE_NOT_EMPTY: { status: 409, message: 'The target store holds data already; nothing was copied. Copy into an empty database, or pass --replace to replace what it holds.' },
  CTL_STORE_UNREACHABLE: { status: 503, message: 'The store cannot be reached: check that PostgreSQL runs, that the host and port of --store (WHARF_STORE) are right, and that its user and password are accepted.' },
} satisfies Record<string, ErrorSpec>;

export type ControlErrorCode = keyof typeof controlErrors;

/** An expected failure with a stable code and the HTTP status control answers it with. */
export class ControlError extends Error {
  readonly code: ControlErrorCode;
  readonly status: number;
  constructor(code: ControlErrorCode, detail?: string, options?: ErrorOptions) {
    super(detail ? `${detail}. ${controlErrors[code].message}` : controlErrors[code].message, options);
    this.code = code;
    this.status = controlErrors[code].status;
  }
}

/** The HTTP status for an error that carries one of the registry's codes (thrown here or by protocol/). */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(controlErrors, code) ? controlErrors[code as ControlErrorCode].status : undefined;
}

import { Type, type Static } from '@sinclair/typebox';
import { parseRoute, type Route } from './route.ts';
import { parse, parseJson, ValidationError } from './validate.ts';

/*
 * The route stream: how control tells every gateway which routes exist (DESIGN.md, "One
 * launch" step 3). One long-lived HTTP response of NDJSON, one JSON object per line:
 *
 *   GET /api/v1/gateways/routes[?since=VERSION&epoch=EPOCH]
 *   Authorization: Bearer <gateway key>          (WHARF_GATEWAY_KEY, from `wharf gateways add`)
 *
 *   200 OK, Content-Type: application/x-ndjson
 *   {"type":"snapshot","version":41,"epoch":"k3v9…","routes":[Route…]}
 *   {"type":"delta","version":42,"upsert":[Route…],"remove":[]}
 *   {"type":"delta","version":43,"upsert":[],"remove":["r1"]}
 *   {"type":"ping","version":43}                 (every ~15 s while nothing changes)
 *   {"type":"sessions","key":"…","revoked":[{"user":"u-1","instance":"*","before":1767225600000}]}
 *
 * - `version` counts changes of control's route table; each delta carries exactly the
 *   changes from `version - 1` to `version`, so versions on one stream go up by one.
 * - `epoch` names one history of versions. A control alone (SQLite) starts a new one when it
 *   restarts (its version counter starts again); controls sharing a PostgreSQL database share
 *   one, the database's, whose versions are numbered there, so a gateway moving from one to
 *   another resumes. A gateway never applies deltas from another history: a resume whose
 *   epoch is not control's current one gets a snapshot.
 * - The first line is a `snapshot` (the whole table, replacing what the gateway had) unless
 *   the request asks to resume with `since` and `epoch` and control still holds every delta
 *   after `since`: then the stream starts with those deltas, followed by a `ping` carrying
 *   the current version, so the gateway knows it has caught up.
 * - A `ping` says the stream is alive and what the current version is. A gateway that sees
 *   a version it did not expect (a gap, or one going backwards) reconnects for a snapshot.
 * - A gateway hearing nothing for about three ping intervals treats the stream as dead and
 *   reconnects with `since`. So does one whose stream control closed (a client too slow to
 *   keep up is disconnected rather than buffered without limit).
 * - 401 or 403: the gateway key is not accepted; 400: `since` is not a whole number.
 * - Isolating failures: a route that does not pass `parseRoute` is reported by its field
 *   path (`upsert[2].target`) and skipped while the line's other routes apply; a line that
 *   is not a message at all is an error for that line only. Unknown fields of a message are
 *   ignored, so control can add some without breaking older gateways (routes themselves are
 *   checked strictly: DESIGN.md, "Routes").
 * - Routes carry `headers` whose values are secrets (DESIGN.md): never log a line or a route.
 * - An app that an agent is setting up is upserted as soon as its job is leased, with status
 *   `starting` and no `target` (protocol/route.ts), and upserted again with its target once the
 *   agent reports the endpoint; it is removed if the instance fails, stops or goes back to the
 *   queue first. A gateway answers it 503 GW_ROUTE_STARTING after authenticating the caller.
 *   A gateway older than this refuses such a route (no target) and answers 404 until the routed
 *   one comes, as it did before.
 *
 * App sessions (docs/sessions.md) ride on the same stream, so that every gateway accepts the
 * same app cookies and refuses the same revoked ones:
 * - A snapshot from a control that has them carries `sessions`: `key`, the key app cookies are
 *   signed with (a secret, like route headers), and `revoked`, the list of revocations. A
 *   revocation refuses the app cookies and gateway tokens of `user` issued before `before`
 *   (Unix ms, control's clock, compared with the `iat` control signed) on `instance`, or on
 *   every instance when it is `*`.
 * - A `sessions` line carries the same whole state and replaces what the gateway had: control
 *   sends one after a resume's catch-up (before its ping) and whenever a revocation is added.
 *   It has no version: it is the state, not a change. A gateway closes the live connections
 *   that a revocation now refuses.
 */

export const ROUTE_STREAM_PATH = '/api/v1/gateways/routes';
export const ROUTE_STREAM_CONTENT_TYPE = 'application/x-ndjson';
/** How often control sends a ping while nothing changes. */
export const ROUTE_STREAM_PING_INTERVAL_MS = 15_000; // 15 s

const Version = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'a whole number (0 or more)' });

/** The whole table. Routes are checked one by one with `parseRoute`, not by this schema. */
export const SnapshotLine = Type.Object({
  type: Type.Literal('snapshot'),
  version: Version,
  epoch: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'an epoch id (1 to 64 letters, digits, - or _)' }),
  routes: Type.Array(Type.Unknown(), { description: 'a list of routes' }),
});

/** The changes from `version - 1` to `version`: routes added or changed, and ids removed. */
export const DeltaLine = Type.Object({
  type: Type.Literal('delta'),
  version: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'a whole number (1 or more)' }),
  upsert: Type.Array(Type.Unknown(), { default: [], description: 'a list of routes' }),
  remove: Type.Array(Type.Unknown(), { default: [], description: 'a list of route ids' }),
});

/** One revocation: `user`'s app sessions on `instance` (`*`: all) issued before `before` (Unix ms) are refused. */
export const Revocation = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 256, description: 'a user id' }),
  instance: Type.String({ pattern: '^(\\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$', description: 'an instance id, or "*"' }),
  before: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Unix milliseconds' }),
}, { additionalProperties: false });
export type Revocation = Static<typeof Revocation>;

/** What every gateway fed by control holds of app sessions: the cookie key and the revocations. */
export const SessionState = Type.Object({
  key: Type.String({ pattern: '^[A-Za-z0-9_-]{43,512}$', description: 'the app cookie key (base64url, 32 bytes or more)' }),
  revoked: Type.Array(Revocation, { description: 'a list of revocations' }),
}, { additionalProperties: false });
export type SessionState = Static<typeof SessionState>;

export const SessionsLine = Type.Object({
  type: Type.Literal('sessions'),
  key: SessionState.properties.key,
  revoked: SessionState.properties.revoked,
});

export const PingLine = Type.Object({
  type: Type.Literal('ping'),
  version: Version,
});

/** A route that was refused, with the reason; `route` is its id where it had a readable one. */
export interface RouteRefusal {
  field: string;
  message: string;
  route?: string;
}

export interface SnapshotMessage {
  type: 'snapshot';
  version: number;
  epoch: string;
  routes: Route[];
  errors: RouteRefusal[];
  /** App sessions, from a control that hands them out. */
  sessions?: SessionState;
}

export interface DeltaMessage {
  type: 'delta';
  version: number;
  upsert: Route[];
  remove: string[];
  /** Refused upserts and removes; the delta's other entries still apply. */
  errors: RouteRefusal[];
}

export interface PingMessage {
  type: 'ping';
  version: number;
}

export interface SessionsMessage extends SessionState {
  type: 'sessions';
}

export type RouteStreamMessage = SnapshotMessage | DeltaMessage | PingMessage | SessionsMessage;

const ROUTE_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Reads one line of the stream (without its newline). Throws a ValidationError naming the
 * field when the line is not a message; a bad route inside a good message is not thrown but
 * listed in `errors` and left out, so the message's other routes still apply.
 */
export function parseRouteStreamLine(line: string): RouteStreamMessage {
  const json = parseJson(line);
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ValidationError('', 'a line must be a JSON object');
  if (type === 'ping') {
    const { version } = parse(PingLine, json);
    return { type, version };
  }
  if (type === 'snapshot') {
    const m = parse(SnapshotLine, json);
    const errors: RouteRefusal[] = [];
    const routes = parseRoutes(m.routes, 'routes', new Set(), errors);
    const raw = (json as { sessions?: unknown }).sessions;
    if (raw === undefined) return { type, version: m.version, epoch: m.epoch, routes, errors };
    // Control's own output: a malformed one refuses the line (the gateway reconnects), never half of it.
    return { type, version: m.version, epoch: m.epoch, routes, errors, sessions: parse(SessionState, raw, 'sessions') };
  }
  if (type === 'sessions') {
    const { key, revoked } = parse(SessionsLine, json);
    return { type, key, revoked };
  }
  if (type === 'delta') {
    const m = parse(DeltaLine, json);
    const errors: RouteRefusal[] = [];
    // A delta names each id once: a repeat is refused (removes are read first).
    const seen = new Set<string>();
    const remove: string[] = [];
    m.remove.forEach((id, i) => {
      const field = `remove[${i}]`;
      if (typeof id !== 'string' || !ROUTE_ID.test(id)) errors.push({ field, message: 'must be a route id (a DNS label)' });
      else if (seen.has(id)) errors.push({ field, message: `"${id}" is named earlier in this delta`, route: id });
      else {
        seen.add(id);
        remove.push(id);
      }
    });
    const upsert = parseRoutes(m.upsert, 'upsert', seen, errors);
    return { type, version: m.version, upsert, remove, errors };
  }
  throw new ValidationError('type', 'must be "snapshot", "delta", "ping" or "sessions"');
}

function parseRoutes(values: unknown[], field: string, seen: Set<string>, errors: RouteRefusal[]): Route[] {
  const routes: Route[] = [];
  values.forEach((value, i) => {
    const at = `${field}[${i}]`;
    const rawId = (value as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'string' && ROUTE_ID.test(rawId) ? rawId : undefined;
    try {
      const route = parseRoute(value, at);
      if (seen.has(route.id)) throw new ValidationError(`${at}.id`, `"${route.id}" is named earlier in this ${field === 'routes' ? 'snapshot' : 'delta'}`);
      seen.add(route.id);
      routes.push(route);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      errors.push(id === undefined ? { field: err.field, message: err.message } : { field: err.field, message: err.message, route: id });
    }
  });
  return routes;
}

/** The snapshot line, newline included; with `sessions` when control hands them out. */
export function snapshotLine(version: number, epoch: string, routes: Iterable<Route>, sessions?: SessionState): string {
  return `${JSON.stringify({ type: 'snapshot', version, epoch, routes: [...routes], ...(sessions ? { sessions } : {}) })}\n`;
}

/** A sessions line (the whole session state), newline included. */
export function sessionsLine(state: SessionState): string {
  return `${JSON.stringify({ type: 'sessions', key: state.key, revoked: state.revoked })}\n`;
}

/** A delta line, newline included. */
export function deltaLine(version: number, upsert: readonly Route[], remove: readonly string[]): string {
  return `${JSON.stringify({ type: 'delta', version, upsert, remove })}\n`;
}

/** A ping line, newline included. */
export function pingLine(version: number): string {
  return `{"type":"ping","version":${version}}\n`;
}

import { isIPv4, isIPv6 } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { parse, ValidationError } from './validate.ts';

/** A DNS label: the route id is the host label `<id>.<appsDomain>`. */
const Label = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', description: 'a DNS label (a-z, 0-9 and inner dashes, at most 63)' });

/** RFC 9110 §5.6.2 token, and a field value without CR, LF or NUL (no header injection). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HeaderValue = Type.String({ pattern: '^[\\t\\x20-\\x7e\\x80-\\xff]*$', description: 'a header value without control characters' });

/** An IPv4 or IPv6 CIDR such as `127.0.0.0/8` or `::1/128`; checked fully by the TCP entrypoint. */
const Cidr = Type.String({ pattern: '^[0-9a-fA-F:.]+/\\d{1,3}$', description: 'a CIDR such as 127.0.0.0/8' });

export const HttpRoute = Type.Object({
  id: Label,
  kind: Type.Literal('http', { default: 'http' }),
  // Absent only on a route whose status is `starting`: control announces an app as soon as an
  // agent leases it, before there is an endpoint, so that its address answers "setting up"
  // rather than "no app here". parseRoute refuses an active route without one.
  target: Type.Optional(Type.String({ pattern: '^https?://', description: 'http(s)://host:port of the upstream' })),
  instance: Type.Optional(Label),
  public: Type.Boolean({ default: false }),
  status: Type.Union([Type.Literal('active'), Type.Literal('starting')], { default: 'active' }),
  headers: Type.Record(Type.String(), HeaderValue, { default: {} }),
}, { additionalProperties: false });

export const TcpRoute = Type.Object({
  id: Label,
  kind: Type.Literal('tcp'),
  target: Type.String({ pattern: '^tcp://', description: 'tcp://host:port of the upstream' }),
  instance: Type.Optional(Label),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  status: Type.Union([Type.Literal('active'), Type.Literal('starting')], { default: 'active' }),
  allow: Type.Array(Cidr, { default: ['127.0.0.0/8', '::1/128'] }),
  tls: Type.Union([Type.Literal('none'), Type.Literal('terminate'), Type.Literal('passthrough')], { default: 'none' }),
  clientCert: Type.Boolean({ default: false }),
}, { additionalProperties: false });

type HttpRouteFields = Static<typeof HttpRoute> & { instance: string };
/** An HTTP route with an upstream to send requests to. */
export type HttpRoute = HttpRouteFields & { target: string };
/** An HTTP route of an app that is still starting and has no upstream yet (answered 503 + Retry-After). */
export type StartingRoute = HttpRouteFields & { status: 'starting'; target?: undefined };
export type TcpRoute = Static<typeof TcpRoute> & { instance: string };
export type Route = HttpRoute | StartingRoute | TcpRoute;

/** Checks one route, fills the defaults of DESIGN.md, and normalises its target. */
export function parseRoute(value: unknown, field = 'route'): Route {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object');
  }
  const kind = (value as { kind?: unknown }).kind ?? 'http';
  let route: Route;
  if (kind === 'http') {
    const http = parse(HttpRoute, value, field);
    if (http.target === undefined && http.status !== 'starting') throw new ValidationError(`${field}.target`, 'is required (only a route with status "starting" may have none yet)');
    route = http as HttpRoute | StartingRoute;
  } else if (kind === 'tcp') {
    route = parse(TcpRoute, value, field) as TcpRoute;
  } else {
    throw new ValidationError(`${field}.kind`, 'must be "http" or "tcp"');
  }
  if (route.kind === 'http') {
    const bad = Object.keys(route.headers).find((name) => !HEADER_NAME.test(name));
    if (bad !== undefined) throw new ValidationError(`${field}.headers.${bad}`, 'must be a header name (RFC 9110 token characters)');
  } else {
    route.allow.forEach((cidr, i) => {
      if (!isCidr(cidr)) throw new ValidationError(`${field}.allow[${i}]`, `"${cidr}" is not a CIDR such as 127.0.0.0/8 or ::1/128`);
    });
  }
  route.instance ??= route.id;
  if (route.target !== undefined) route.target = normaliseTarget(route.target, `${field}.target`);
  return route;
}

function isCidr(cidr: string): boolean {
  const [net, bits, ...rest] = cidr.split('/');
  const prefix = Number(bits);
  if (rest.length || !/^\d{1,3}$/.test(bits ?? '')) return false;
  return (isIPv4(net) && prefix <= 32) || (isIPv6(net) && prefix <= 128);
}

/** A target is an origin only: scheme, host and port; a path or credentials are refused. */
function normaliseTarget(target: string, field: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new ValidationError(field, `"${target}" is not a URL`);
  }
  if (url.username || url.password) throw new ValidationError(field, 'must not contain credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ValidationError(field, 'must be an origin (scheme://host:port) with no path');
  }
  if (url.protocol === 'tcp:' && !url.port) throw new ValidationError(field, 'needs a port');
  return url.protocol === 'tcp:' ? `tcp://${url.host}` : url.origin;
}

export interface RoutesFileResult {
  routes: Route[];
  /** Routes that were refused, each with the reason; the others still load. */
  errors: { field: string; message: string }[];
}

/**
 * Parses a routes file `{"routes": [...]}`. A bad route is reported and skipped so that one
 * mistake never takes the other routes down; a file that is not of that shape throws.
 */
export function parseRoutesFile(json: unknown): RoutesFileResult {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { routes?: unknown }).routes)) {
    throw new ValidationError('routes', 'the file must be {"routes": [ ... ]}');
  }
  const extra = Object.keys(json).filter((k) => k !== 'routes');
  if (extra.length) throw new ValidationError(extra[0], 'unknown field');
  const routes: Route[] = [];
  const errors: RoutesFileResult['errors'] = [];
  const seen = new Set<string>();
  (json as { routes: unknown[] }).routes.forEach((value, i) => {
    const field = `routes[${i}]`;
    try {
      const route = parseRoute(value, field);
      if (seen.has(route.id)) throw new ValidationError(`${field}.id`, `"${route.id}" is used by an earlier route`);
      seen.add(route.id);
      routes.push(route);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      errors.push({ field: err.field, message: err.message });
    }
  });
  return { routes, errors };
}

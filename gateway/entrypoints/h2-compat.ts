import http2, { type IncomingHttpHeaders, type Http2Session, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { ReadableOptions } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { GatewayErrorCode } from '../errors.ts';
import { CertificateNames } from '../routing/misdirected.ts';

/*
 * One request pipeline, two wire protocols (DESIGN.md "Where wave-2 capabilities live"): the
 * router and the proxy read the fields of an HTTP/1.1 request (`headers.host`, `rawHeaders`,
 * `socket`) and write an HTTP/1.1 response (`writeHead` with a header list). Node's HTTP/2
 * compatibility objects have most of them; these two subclasses, made by Node for every
 * stream (the `Http2ServerRequest`/`Http2ServerResponse` server options), fill in the rest
 * once per stream, so that the HTTP/1.1 path pays nothing for HTTP/2.
 */

/** Response fields about one HTTP/1.1 connection: HTTP/2 forbids them (RFC 9113 §8.2.2), and Node throws on them. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The limits on a request head that HTTP/1.1's parser applies, applied to an HTTP/2 stream's fields. */
export interface HeadLimits {
  maxHeaders: number;
  maxHeaderBytes: number;
}

/** What HTTP/1.1's parser would have made of an HTTP/2 stream's head, and what it would refuse. */
export interface Http1Head {
  /** The field list an HTTP/1.1 upstream gets. */
  rawHeaders: string[];
  /** Why the gateway answers the request itself before routing it: 431 or 400. */
  refusal(limits: HeadLimits): GatewayErrorCode | undefined;
}

/**
 * An HTTP/2 stream's head as the HTTP/1.1 request the pipeline expects (`headers` is changed
 * in place):
 * - `headers.host` is `:authority` (RFC 9113 §8.3.1): routing uses the stream's own authority,
 *   never the connection's server name;
 * - `rawHeaders` is the field list an HTTP/1.1 upstream gets: Host first, no pseudo-headers,
 *   and the `cookie` fields HTTP/2 sends one per cookie (RFC 9113 §8.2.3) joined with `; `;
 * - a body of unknown length reads as chunked, as it would travel in HTTP/1.1;
 * - an extended CONNECT for a WebSocket reads as `Upgrade: websocket`.
 */
export function http1Head(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): Http1Head {
  const authority = headers[':authority'];
  const host = headers.host;
  // A Host that names another authority is a malformed request (RFC 9113 §8.3.1).
  const conflict = authority !== undefined && host !== undefined && host !== authority;
  if (authority !== undefined) headers.host = authority;
  const list: string[] = ['host', headers.host ?? ''];
  let fields = 0;
  let bytes = 0;
  let cookieAt = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    bytes += name.length + raw[i + 1].length + 4; // "name: value\r\n"
    if (name.charCodeAt(0) === 58 /* : */) continue;
    fields++;
    if (name === 'host') continue;
    if (name === 'cookie') {
      if (cookieAt >= 0) continue;
      cookieAt = list.length;
      list.push(name, '');
      continue;
    }
    list.push(name, raw[i + 1]);
  }
  if (cookieAt >= 0) list[cookieAt + 1] = headers.cookie as string; // Node joined them with '; '
  // A stream whose HEADERS frame did not end it has a body; without Content-Length its size
  // is known only at its end, which HTTP/1.1 says with chunked framing.
  if (headers[':protocol'] !== undefined) {
    // Extended CONNECT (RFC 8441): the HTTP/1.1 Upgrade it stands for.
    headers.upgrade = headers[':protocol'] as string;
  } else if (!stream.endAfterHeaders && headers['content-length'] === undefined) {
    headers['transfer-encoding'] = 'chunked';
  }
  return {
    rawHeaders: list,
    refusal(limits: HeadLimits): GatewayErrorCode | undefined {
      if (fields > limits.maxHeaders || bytes > limits.maxHeaderBytes) return 'GW_HEADERS_TOO_LARGE';
      if (conflict) return 'GW_BAD_REQUEST';
      return undefined;
    },
  };
}

/**
 * An HTTP/2 stream's request, with a body or a CONNECT (the others take h2-direct.ts's path),
 * as the HTTP/1.1 request the pipeline expects (http1Head).
 */
export class H2Request extends http2.Http2ServerRequest {
  readonly #head: Http1Head;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: ReadableOptions | undefined, raw: string[]) {
    super(stream, headers, options as never, raw);
    this.#head = http1Head(stream, headers, raw);
    Object.defineProperty(this, 'rawHeaders', { value: this.#head.rawHeaders });
  }

  /** Why the gateway answers this request itself before routing it, as HTTP/1.1's parser would: 431 or 400. */
  refusal(limits: HeadLimits): GatewayErrorCode | undefined {
    return this.#head.refusal(limits);
  }
}

/** Connection-specific fields left out, a list or an object; the input itself when it has none (the usual case). */
export function withoutConnectionFields(headers: OutgoingHttpHeaders | readonly string[] | undefined): OutgoingHttpHeaders | readonly string[] | undefined {
  if (headers === undefined) return headers;
  if (Array.isArray(headers)) {
    const list = headers as readonly string[];
    for (let i = 0; i < list.length; i += 2) {
      if (CONNECTION_SPECIFIC.has(list[i].toLowerCase())) {
        return list.filter((_, j) => !CONNECTION_SPECIFIC.has(list[j - (j % 2)].toLowerCase()));
      }
    }
    return list;
  }
  const names = Object.keys(headers);
  if (!names.some((n) => CONNECTION_SPECIFIC.has(n.toLowerCase()))) return headers;
  const kept: OutgoingHttpHeaders = {};
  for (const n of names) if (!CONNECTION_SPECIFIC.has(n.toLowerCase())) kept[n] = (headers as OutgoingHttpHeaders)[n];
  return kept;
}

/**
 * An HTTP/2 stream's response as the pipeline writes it: `writeHead` with a status text (which
 * HTTP/2 does not have, RFC 9113 §8.3.2) and connection-specific fields takes neither, and
 * `destroyed` and `shouldKeepAlive` read as on an HTTP/1.1 response.
 */
export class H2Response extends http2.Http2ServerResponse {
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, statusMessage: string, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, a?: string | OutgoingHttpHeaders | readonly string[], b?: OutgoingHttpHeaders | readonly string[]): this {
    const headers = typeof a === 'string' ? b : a;
    return super.writeHead(statusCode, withoutConnectionFields(headers));
  }

  /** A stream ends with its response; the connection's fate is the session's. */
  get shouldKeepAlive(): boolean {
    return true;
  }

  set shouldKeepAlive(_keep: boolean) {}
}

// Read by the pipeline as on an HTTP/1.1 response; Node's compatibility response has no such field.
Object.defineProperty(H2Response.prototype, 'destroyed', {
  get(this: H2Response): boolean {
    return this.stream.destroyed;
  },
});

/** Whether a request came on an HTTP/2 stream (a plain field read on the HTTP/1.1 path). */
export function isH2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}

/** The request's HTTP/2 stream; only for `isH2` requests. */
export function h2Stream(req: IncomingMessage): ServerHttp2Stream {
  return (req as unknown as H2Request).stream;
}

const served = new WeakMap<Http2Session, CertificateNames>();

/**
 * The names the certificate this HTTP/2 connection was handshaken with covers (the one the
 * SNI callback chose for its server name), read once per connection.
 */
export function connectionCertificate(req: IncomingMessage): CertificateNames {
  const session = h2Stream(req).session!;
  let names = served.get(session);
  if (names === undefined) {
    const cert = (session.socket as TLSSocket).getCertificate();
    names = new CertificateNames(cert && 'subjectaltname' in cert ? cert.subjectaltname : undefined);
    served.set(session, names);
  }
  return names;
}

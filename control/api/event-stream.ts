import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/*
 * Server-sent events (text/event-stream) for the API's `?follow=1` endpoints: the console of
 * an instance, one instance, the instance list. A stream never ends by itself, so the streams
 * a route file opened are ended before the server waits for its connections to close; a
 * comment every heartbeat keeps proxies from timing the connection out.
 */

export const HEARTBEAT_MS = 15_000;
/** How long a browser waits before reconnecting an ended stream (the `retry` field). */
export const RECONNECT_MS = 1_000;
/** How often a stream checks that its credentials still hold (a session can end under it). */
export const CREDENTIAL_CHECK_MS = 2_000;

/** The `follow` query parameter of a streaming endpoint. */
export const Follow = Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], { description: '1 or 0' }));
export const following = (follow: string | undefined): boolean => follow === '1' || follow === 'true';

export interface EventStream {
  /** Writes one event: `event:` (omitted for the default "message"), `id:` when given, JSON `data:`. */
  send(data: unknown, options?: { event?: string; id?: string | number }): void;
  /** Writes raw text (several events joined by the caller). */
  write(chunk: string): void;
  readonly closed: boolean;
  /** Resolves when the client went away or the server closed; the handler awaits it. */
  readonly done: Promise<void>;
  /** Called once when the stream closes, for the caller's own unsubscribe and timers. */
  onClose(fn: () => void): void;
}

/** One event's text. */
export function eventText(data: unknown, options: { event?: string; id?: string | number } = {}): string {
  return `${options.event ? `event: ${options.event}\n` : ''}${options.id === undefined ? '' : `id: ${options.id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/**
 * An opener of event streams for one route file: registers the hook that ends them on close.
 * A stream ends when `stillValid` says its request's credentials no longer hold (checked every
 * CREDENTIAL_CHECK_MS).
 */
export function eventStreams(app: FastifyInstance, stillValid: (request: FastifyRequest) => Promise<boolean>, heartbeatMs = HEARTBEAT_MS): (request: FastifyRequest, reply: FastifyReply, comment: string) => EventStream {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  return (request, reply, comment) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // `retry`: browsers wait 1 s, not their default 3 s, before reconnecting a stream that ended.
    res.write(`retry: ${RECONNECT_MS}\n: ${comment.replace(/[\r\n]/g, ' ')}\n\n`);
    open.add(res);
    const closers: (() => void)[] = [];
    let closed = false;
    // Nothing is written once the stream was ended (by a check below, a caller or the server
    // closing): a write after end would be an error event on a response fastify has let go.
    const write = (chunk: string) => { if (!closed && !res.writableEnded) res.write(chunk); };
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    const check = setInterval(() => {
      stillValid(request).then((valid) => { if (!valid) res.end(); }, () => res.end());
    }, CREDENTIAL_CHECK_MS);
    check.unref();
    const done = new Promise<void>((resolve) => {
      res.once('close', () => {
        closed = true;
        clearInterval(heartbeat);
        clearInterval(check);
        open.delete(res);
        for (const fn of closers) fn();
        resolve();
      });
    });
    return {
      send: (data, options) => write(eventText(data, options)),
      write,
      get closed() { return closed; },
      done,
      onClose: (fn) => { if (closed) fn(); else closers.push(fn); },
    };
  };
}

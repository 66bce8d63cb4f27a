import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { parse, ValidationError } from '../../protocol/validate.ts';
import type { ConsoleFeed } from '../console/console-feed.ts';
import type { ConsoleLine, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import { instanceFor } from '../access/instance-access.ts';
import { eventStreams, eventText, Follow, following } from './event-stream.ts';

/*
 * The console of an instance (issue 4, "Console"): agent events and container output, as the
 * agent posted them to POST /api/v1/agent/instances/:id/console.
 *
 * GET /api/v1/instances/:id/console?since=SEQ&limit=N
 *   → {instance, lines: [{seq, at (ISO), stream, text}], last}: lines with seq > since (default
 *   0), oldest first, at most limit (default 1000, at most 10000); `last` is the seq to pass as
 *   `since` next time (since itself when there are none).
 * GET /api/v1/instances/:id/console?follow=1[&since=SEQ]
 *   → text/event-stream: each line an event `id: SEQ` / `data: {seq, at, stream, text}`, first
 *   those after since, then live as the agent appends them; a `: heartbeat` comment every
 *   HEARTBEAT_MS. A `Last-Event-ID` header (an EventSource reconnecting) overrides `since`.
 * Another user's instance is a 404, as everywhere.
 */

const PAGE = 1000;
const MAX_LIMIT = 10_000;

const ConsoleQuery = Type.Object({
  since: Type.Optional(Type.String({ pattern: '^\\d{1,15}$', description: 'a line seq (a whole number, 0 or more)' })),
  limit: Type.Optional(Type.String({ pattern: '^\\d{1,5}$', description: `a whole number of lines, 1 to ${MAX_LIMIT}` })),
  follow: Follow,
}, { additionalProperties: false });

export const lineView = (l: ConsoleLine) => ({ seq: l.seq, at: new Date(l.at).toISOString(), stream: l.stream, text: l.text });

export interface ConsoleRouteDeps {
  store: Store;
  auth: ApiAuth;
  feed: ConsoleFeed;
  log: Logger;
  heartbeatMs?: number;
}

export function consoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { store, auth, feed, log } = deps;
  // A follower's stream ends with its credentials, and once the instance is no longer theirs to
  // see (a share revoked): the same check as the request's, every few seconds.
  const stillSees = (request: FastifyRequest) => instanceFor(store, auth.user(request), (request.params as { id: string }).id, 'viewer').then(() => true, () => false);
  const openStream = eventStreams(app, async (request) => (await auth.stillValid(request)) && (await stillSees(request)), deps.heartbeatMs);

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id/console', async (request, reply) => {
    const instance = await instanceFor(store, auth.user(request), request.params.id, 'viewer');
    const q = parse(ConsoleQuery, request.query ?? {});
    let since = q.since === undefined ? 0 : Number(q.since);
    const limit = q.limit === undefined ? PAGE : Number(q.limit);
    if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError('limit', `must be a whole number of lines, 1 to ${MAX_LIMIT}`);
    if (!following(q.follow)) {
      const lines = await store.console.since(instance.id, since, limit);
      return { instance: instance.id, lines: lines.map(lineView), last: lines.at(-1)?.seq ?? since };
    }
    const lastEventId = request.headers['last-event-id'];
    if (typeof lastEventId === 'string' && lastEventId.trim() !== '') {
      if (!/^\d{1,15}$/.test(lastEventId.trim())) throw new ValidationError('Last-Event-ID', 'must be a line seq (a whole number, 0 or more)');
      since = Number(lastEventId.trim());
    }

    const stream = openStream(request, reply, `console of ${instance.id} after ${since}`);
    let last = since;
    let pumping = false;
    let again = false;
    // One reader at a time; a notification during a read makes it read once more.
    const pump = async () => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          for (;;) {
            const lines = await store.console.since(instance.id, last, PAGE);
            if (stream.closed) return;
            stream.write(lines.map((l) => eventText(lineView(l), { id: l.seq })).join(''));
            if (lines.length) last = lines.at(-1)!.seq;
            if (lines.length < PAGE) break;
          }
        } while (again && !stream.closed);
      } catch (err) {
        if (!stream.closed) log.error({ err, instance: instance.id }, 'console follow failed');
        reply.raw.end();
      } finally {
        pumping = false;
      }
    };
    stream.onClose(feed.subscribe(instance.id, (seq) => {
      if (seq > last) void pump();
    }));
    // Subscribed first, so that nothing appended between the read and the subscription is missed.
    void pump();
    await stream.done;
  });
}

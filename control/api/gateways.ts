import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { ROUTE_STREAM_PATH } from '../../protocol/route-stream.ts';
import { LINK_CLAIM_PATH, LinkClaim } from '../../protocol/token.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { RouteStreamHandler } from '../routes/route-stream-handler.ts';
import type { Clock, Store } from '../store/store.ts';
import { bearer, type ApiAuth } from './auth.ts';

/**
 * How long past its `exp` a claimed link is remembered: a gateway whose clock runs behind
 * control's still takes the link for valid a while after control's `exp`.
 */
export const USED_LINK_SKEW_MS = 5 * 60_000; // five minutes
/** A claimed `exp` further ahead is remembered only this long (gateways refuse links living over 600 s). */
const USED_LINK_MAX_MS = 3_600_000; // one hour

export const NewGateway = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit' }),
}, { additionalProperties: false });

/**
 * Gateways: an admin creates a key (shown once); a gateway presents it to read the route
 * stream and to claim one-time links. The stream is authorized by the handler itself, the
 * link claim here (gateway key, not API token).
 */
export function gatewayRoutes(app: FastifyInstance, store: Store, auth: ApiAuth, stream: RouteStreamHandler, clock: Clock): void {
  app.post('/api/v1/gateways', async (request, reply) => {
    const admin = auth.admin(request);
    const body = parse(NewGateway, request.body ?? {});
    const { gateway, key } = await store.gateways.add(body.name);
    await audit(store, admin, 'gateway.add', { target: gateway.id, detail: { name: gateway.name } });
    return reply.code(201).send({ id: gateway.id, name: gateway.name, created: new Date(gateway.created).toISOString(), key });
  });

  app.get('/api/v1/gateways', async (request) => {
    auth.admin(request);
    return { gateways: (await store.gateways.list()).map((g) => ({ id: g.id, name: g.name, created: new Date(g.created).toISOString() })) };
  });

  // A one-time link works once across every gateway and restart: the first claim of its jti
  // wins (201), every later one is 409 CTL_LINK_USED (protocol/token.ts LINK_CLAIM_PATH).
  app.post(LINK_CLAIM_PATH, async (request, reply) => {
    const key = bearer(request.headers.authorization);
    if (!key || !(await store.gateways.verify(key))) throw new ControlError('CTL_GATEWAY_KEY', key ? 'this gateway key is unknown' : 'no gateway key was sent');
    const claim = parse(LinkClaim, request.body ?? {});
    const now = clock();
    const expires = Math.min(claim.exp * 1000, now + USED_LINK_MAX_MS) + USED_LINK_SKEW_MS;
    if (!(await store.usedLinks.claim(claim.jti, expires))) throw new ControlError('CTL_LINK_USED');
    return reply.code(201).header('cache-control', 'no-store').send({ claimed: true });
  });

  app.get(ROUTE_STREAM_PATH, async (request, reply) => {
    // The handler writes the response itself (a long-lived stream): fastify must not.
    reply.hijack();
    await stream.handle(request.raw, reply.raw);
  });
}

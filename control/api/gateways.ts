import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { ROUTE_STREAM_PATH } from '../../protocol/route-stream.ts';
import type { RouteStreamHandler } from '../routes/route-stream-handler.ts';
import type { Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

export const NewGateway = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit' }),
}, { additionalProperties: false });

/**
 * Gateways: an admin creates a key (shown once); a gateway presents it to read the route
 * stream. The stream is authorized by the handler itself (gateway key, not API token).
 */
export function gatewayRoutes(app: FastifyInstance, store: Store, auth: ApiAuth, stream: RouteStreamHandler): void {
  app.post('/api/v1/gateways', async (request, reply) => {
    auth.admin(request);
    const body = parse(NewGateway, request.body ?? {});
    const { gateway, key } = await store.gateways.add(body.name);
    return reply.code(201).send({ id: gateway.id, name: gateway.name, created: new Date(gateway.created).toISOString(), key });
  });

  app.get('/api/v1/gateways', async (request) => {
    auth.admin(request);
    return { gateways: (await store.gateways.list()).map((g) => ({ id: g.id, name: g.name, created: new Date(g.created).toISOString() })) };
  });

  app.get(ROUTE_STREAM_PATH, async (request, reply) => {
    // The handler writes the response itself (a long-lived stream): fastify must not.
    reply.hijack();
    await stream.handle(request.raw, reply.raw);
  });
}

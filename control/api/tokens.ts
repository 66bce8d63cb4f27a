import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parse } from '../../protocol/validate.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { ApiToken, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

export const NewToken = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1f\\x7f]+$', description: '1 to 100 printable characters' }),
}, { additionalProperties: false });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function tokenView(t: ApiToken) {
  return { id: t.id, name: t.name, user: t.user, created: iso(t.created), lastUsed: iso(t.lastUsed), revoked: iso(t.revoked) };
}

/** API tokens of the caller; the clear token is in the creation answer only. An admin may revoke anyone's. */
export function tokenRoutes(app: FastifyInstance, store: Store, auth: ApiAuth): void {
  app.post('/api/v1/tokens', async (request, reply) => {
    const me = auth.user(request);
    const body = parse(NewToken, request.body ?? {});
    const { apiToken, token } = await store.apiTokens.create(me.id, body.name);
    await audit(store, me, 'apitoken.create', { target: apiToken.id, detail: { name: apiToken.name } });
    return reply.code(201).send({ ...tokenView(apiToken), token });
  });

  app.get('/api/v1/tokens', async (request) => {
    const me = auth.user(request);
    return { tokens: (await store.apiTokens.list(me.id)).map(tokenView) };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', async (request, reply) => {
    const me = auth.user(request);
    const token = await store.apiTokens.get(request.params.id);
    // Another user's token is "not found" for a non-admin: its existence is not theirs to learn.
    if (!token || (token.user !== me.id && !me.admin)) throw new ControlError('CTL_NOT_FOUND', `no token "${request.params.id}"`);
    await store.apiTokens.revoke(token.id);
    await audit(store, me, 'apitoken.revoke', { target: token.id, detail: { name: token.name } });
    return reply.code(204).send();
  });
}

import type { FastifyInstance } from 'fastify';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { audit } from '../audit/audit-log.ts';
import type { Clock, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';

/**
 * Signing keys (admin): list them (no secret material) and rotate now. A rotated key signs
 * at once; the retired one stays in the JWKS until every token it signed has expired.
 */
export function keyRoutes(app: FastifyInstance, store: Store, keys: SigningKeys, auth: ApiAuth, clock: Clock): void {
  const view = () => ({
    current: keys.currentKid,
    keys: keys.list().map((k) => ({
      kid: k.kid,
      created: new Date(k.created).toISOString(),
      retired: k.retired === null ? null : new Date(k.retired).toISOString(),
      publishedUntil: k.publishedUntil === null ? null : new Date(k.publishedUntil).toISOString(),
    })),
  });

  app.get('/api/v1/keys', async (request) => {
    auth.admin(request);
    await keys.refresh(); // another control may have rotated
    return view();
  });

  app.post('/api/v1/keys/rotate', async (request, reply) => {
    const admin = auth.admin(request);
    const kid = await keys.rotate(clock());
    await audit(store, admin, 'keys.rotate', { target: kid });
    return reply.code(201).send({ kid, ...view() });
  });
}

import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import type { ApiAuth } from './auth.ts';

/**
 * `GET /api/v1/ca.pem`: the local CA's certificate (public, but served to signed-in callers
 * only), so a CLI given only WHARF_URL and WHARF_TOKEN (`wharf connect`) can check the
 * gateway's certificate without a copy of WHARF_HOME. 404 when control's WHARF_HOME has no
 * local CA (the gateway then uses certificates of its own, trusted by the system).
 */
export function caRoutes(app: FastifyInstance, auth: ApiAuth, caFile: string | undefined): void {
  app.get('/api/v1/ca.pem', async (request, reply) => {
    auth.user(request);
    let pem: string | undefined;
    try {
      pem = caFile ? await readFile(caFile, 'utf8') : undefined;
    } catch { /* no local CA */ }
    if (!pem) throw new ControlError('CTL_NOT_FOUND', 'control has no local CA: the gateway\'s certificate is trusted by the system, or pass --ca FILE');
    return reply.type('application/x-pem-file').send(pem);
  });
}

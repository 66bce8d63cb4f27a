import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { ValidationError } from '../../protocol/validate.ts';
import { ControlError, controlErrors, statusOf, type ControlErrorCode } from '../errors.ts';

/**
 * `{"error": {code, status, message}}` with `X-Wharf-Error`: every failure control answers.
 * An invalid field adds `field` (`routing.port`), so that a form can mark its input.
 */
export function sendError(reply: FastifyReply, code: string, status: number, message: string, field?: string): FastifyReply {
  return reply.code(status).header('x-wharf-error', code).header('content-type', 'application/json; charset=utf-8')
    .send({ error: { code, status, message, ...(field ? { field } : {}) } });
}

/**
 * Maps what handlers throw to answers: a ValidationError is 400 CTL_INVALID naming the field,
 * a ControlError (or protocol error with a registry code) its own status, fastify's client
 * errors (bad JSON, too large) 4xx CTL_INVALID; anything else is our bug: 500, logged with its
 * stack, which never reaches the client.
 */
export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ValidationError) return sendError(reply, 'CTL_INVALID', 400, err.message, err.field);
    if (err instanceof ControlError) return sendError(reply, err.code, err.status, err.message);
    const status = statusOf(err);
    if (status !== undefined) return sendError(reply, err.code, status, err.message);
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, 'CTL_INVALID', err.statusCode, err.message);
    }
    log.error({ err, method: request.method, url: request.routeOptions.url }, 'request failed');
    return sendError(reply, 'CTL_INTERNAL', 500, controlErrors.CTL_INTERNAL.message);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'CTL_NOT_FOUND', 404, `no endpoint ${request.method} ${request.url.split('?')[0]}. ${controlErrors.CTL_NOT_FOUND.message}`));
}

export function fail(code: ControlErrorCode, detail?: string): never {
  throw new ControlError(code, detail);
}

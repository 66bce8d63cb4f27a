import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { ValidationError } from '../../protocol/validate.ts';
import { ControlError, controlErrors, statusOf, type ControlErrorCode } from '../errors.ts';

/** One mistake of an invalid body, as the answer lists it. */
export interface ErrorItem {
  field: string;
  message: string;
  /** For an unknown field: the known field it is closest to (`routing.port` for `routing.prot`). */
  suggestion?: string;
}

/**
 * `{"error": {code, status, message}}` with `X-Wharf-Error`: every failure control answers.
 * An invalid body adds `field`, the first invalid field (`routing.port`), and `errors`, every
 * mistake found (`[{field, message, suggestion?}]`), so that a form can mark each input and a
 * person fix them all in one go; `message` then says them all, separated by "; ".
 */
export function sendError(reply: FastifyReply, code: string, status: number, message: string, field?: string, errors?: ErrorItem[]): FastifyReply {
  return reply.code(status).header('x-wharf-error', code).header('content-type', 'application/json; charset=utf-8')
    .send({ error: { code, status, message, ...(field ? { field } : {}), ...(errors ? { errors } : {}) } });
}

/**
 * Maps what handlers throw to answers: a ValidationError is 400 CTL_INVALID naming the fields,
 * a ControlError (or protocol error with a registry code) its own status, fastify's client
 * errors (bad JSON, too large) 4xx CTL_INVALID; anything else is our bug: 500, logged with its
 * stack, which never reaches the client.
 */
export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ValidationError) return sendError(reply, 'CTL_INVALID', 400, err.message, err.field, err.problems.map(errorItem));
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

function errorItem({ field, message, suggestion }: ErrorItem): ErrorItem {
  return suggestion === undefined ? { field, message } : { field, message, suggestion };
}

export function fail(code: ControlErrorCode, detail?: string): never {
  throw new ControlError(code, detail);
}
